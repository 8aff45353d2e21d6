/* eportctl key: API keys of connector clients. `key new` makes a random
 * key and prints it with the key_sha256 line for the client's entry in
 * the node's config (clients:); `key hash KEY` prints that line for a
 * key given (or, without KEY, read from standard input, so that it stays
 * out of the shell's history). The node keeps only the hash (auth.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "ctl.h"

#define KEY_USAGE "eportctl key new [--json] | " \
    "eportctl key hash [KEY] [--json]"
#define KEY_RANDOM_BYTES 32

static int key__print(const char *key, int show_key, int json)
{
    char hex[65];
    err_t e;
    if (auth_key_hash(key, hex, &e) < 0) {
        fprintf(stderr, "eportctl: error: key: %s\n", e.msg);
        return CTL_DATAERR;
    }
    if (json && show_key)
        printf("{\"key\":\"%s\",\"key_sha256\":\"%s\"}\n", key, hex);
    else if (json)
        printf("{\"key_sha256\":\"%s\"}\n", hex);
    else if (show_key)
        printf("key: %s\nkey_sha256: %s\n", key, hex);
    else
        printf("key_sha256: %s\n", hex);
    return CTL_OK;
}

/* URL-safe base64 of 32 random bytes: 43 characters, no padding. */
static int key__new(int json)
{
    unsigned char raw[KEY_RANDOM_BYTES];
    enum { V = sodium_base64_VARIANT_URLSAFE_NO_PADDING };
    char key[sodium_base64_ENCODED_LEN(KEY_RANDOM_BYTES, V)];
    if (sodium_init() < 0) {
        fprintf(stderr, "eportctl: error: key new: libsodium cannot start\n");
        return CTL_SOFTWARE;
    }
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(key, sizeof key, raw, sizeof raw, V);
    sodium_memzero(raw, sizeof raw);
    return key__print(key, 1, json);
}

/* The key from standard input: its first line, without the line end. */
static int key__stdin(char *out, size_t n)
{
    if (!fgets(out, (int)n, stdin)) {
        fprintf(stderr, "eportctl: error: key hash: no KEY and nothing on "
                "standard input\n");
        return CTL_NOINPUT;
    }
    out[strcspn(out, "\r\n")] = '\0';
    return CTL_OK;
}

int ctl_key(int argc, char **argv)
{
    int json = 0, npos = 0;
    const char *pos[2];
    const ctl_opt opts[] = {{"--json", NULL, NULL, NULL, &json}, {0}};
    int rc = ctl_opts(argc, argv, 1, opts, pos, 2, &npos, KEY_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (npos == 1 && !strcmp(pos[0], "new"))
        return key__new(json);
    if (npos < 1 || strcmp(pos[0], "hash")) {
        fprintf(stderr, "eportctl: error: key new, or key hash KEY\n"
                "usage: %s\n", KEY_USAGE);
        return CTL_USAGE;
    }
    char line[AUTH_KEY_MAX + 2];
    const char *key = npos == 2 ? pos[1] : NULL;
    if (!key) {
        if ((rc = key__stdin(line, sizeof line)) != CTL_OK)
            return rc;
        key = line;
    }
    return key__print(key, 0, json);
}
