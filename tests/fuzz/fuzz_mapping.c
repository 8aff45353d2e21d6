/* libFuzzer target: arbitrary bytes as a mapping table (and as a code
 * list), through the YAML loader and the compiler. Must never crash, leak
 * or read out of bounds, whatever an author (or an attacker with write
 * access to a federation's shared mappings) puts in a table. */
#include <stddef.h>
#include <stdint.h>

#include "map.h"

static const char fz__codes[] =
    "codelist: party_role\ncodes: {CZ: consignor, CN: consignee}\n";
static const char fz__units[] =
    "codelist: unit_mass\ncodes: {KGM: \"1\", TNE: \"1000\"}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    map_set *s = map_set_new();
    if (!s)
        return 0;
    map_set_add_text(s, "codes/party_role.yaml", fz__codes,
                     sizeof fz__codes - 1, 1);
    map_set_add_text(s, "codes/unit_mass.yaml", fz__units,
                     sizeof fz__units - 1, 1);
    map_set_add_text(s, "fuzz-codes.yaml", (const char *)data, size, 1);
    map_set_add_text(s, "fuzz.yaml", (const char *)data, size, 0);
    map_set_free(s);
    return 0;
}
