#!/usr/bin/env python3
"""The national center's dashboard in a real browser: drives headless
Chromium (Debian's chromium and chromium-driver, python3-selenium) and
checks that the federation graph (its nodes and links), the live
counters, a movement row, that movement's journey with a verification
badge on every signed step, and an alert appear; saves a screenshot.

    test_dashboard.py URL|--fixture [--screenshot PATH] [--expect-alert RULE]
                      [--ref REF] [--allow-unverified] [--timeout S]

URL is the dashboard (the national center's HTTP address, e.g.
http://127.0.0.1:8105/). --fixture starts tests/browser/fixture_server.py
on a free port instead and also checks the "center unreachable" banner
(the fixture stops answering, then answers again). --ref opens that
movement (typed into the search box, so the filter is checked too),
otherwise the first row. --expect-alert waits for an alert of that rule.
Against a real center every step must verify (✓) unless
--allow-unverified. CHROMIUM and CHROMEDRIVER override the binaries.

Prints `fed: dashboard ok` or `fed: dashboard FAILED: why` (and, with
--fixture, the same for dashboard_banner), then `fed: N passed, M
failed`; exit status 0 when all passed.
"""
import argparse
import inspect
import os
import shutil
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))

PROVINCES = ("CQ", "SC", "SN", "SH")


class Failed(Exception):
    pass


def find_binary(env, names):
    v = os.environ.get(env)
    if v:
        return v
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def make_driver(profile):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise Failed("selenium is missing: run with Debian's python3 (apt-get install python3-selenium)")

    chromium = find_binary("CHROMIUM", ("chromium", "chromium-browser", "google-chrome"))
    driver = find_binary("CHROMEDRIVER", ("chromedriver",))
    if not chromium or not driver:
        raise Failed("chromium or chromedriver not found (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--hide-scrollbars", "--window-size=1440,1000",
              "--user-data-dir=" + profile):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    params = inspect.signature(Service.__init__).parameters
    quiet = {"log_output": os.devnull} if "log_output" in params else {"log_path": os.devnull}
    return webdriver.Chrome(service=Service(executable_path=driver, **quiet), options=opts)


def wait(driver, timeout, what, fn):
    """fn(driver) until it returns something true; Failed naming what."""
    end = time.time() + timeout
    last = None
    while True:
        try:
            v = fn(driver)
            if v:
                return v
        except Exception as e:  # stale elements while the page re-renders
            last = e
        if time.time() >= end:
            raise Failed("%s (waited %g s)%s" % (what, timeout,
                                                 ": %s" % str(last).splitlines()[0] if last else ""))
        time.sleep(0.2)


def js_errors(driver):
    try:
        logs = driver.get_log("browser")
    except Exception:
        return []
    return [e["message"] for e in logs
            if e.get("level") == "SEVERE" and "Uncaught" in e.get("message", "")]


def screenshot(driver, path):
    """The whole page: the window grown to the document's height."""
    try:
        hgt, chrome = driver.execute_script(
            "return [Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),"
            " window.outerHeight - window.innerHeight]")
        driver.set_window_size(1440, min(max(int(hgt) + max(int(chrome), 0), 800), 4000))
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)
    except Exception:
        pass
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    if not driver.save_screenshot(path):
        raise Failed("could not save the screenshot to %s" % path)


# Snapshots of the page taken in one script each, so a re-render between
# two WebDriver calls (the page polls every 2 s) cannot make them stale.
JS_GRAPH = """
const svg = document.querySelector('svg#graph');
if (!svg) return null;
const nodes = {};
for (const n of svg.querySelectorAll('.node[data-id]')) nodes[n.getAttribute('data-id')] = n.getAttribute('data-state');
const links = [...svg.querySelectorAll('.link[data-from][data-to]')].map(
    (l) => [l.getAttribute('data-from'), l.getAttribute('data-to'), l.getAttribute('data-state')]);
return {nodes: nodes, links: links};
"""
JS_ROWS = """
return [...document.querySelectorAll('#movements table tbody tr[data-ref]')].map((r) => {
    const p = r.querySelector('[data-phase]');
    return [r.getAttribute('data-ref'), p ? p.getAttribute('data-phase') : null];
});
"""
JS_JOURNEY = """
const ref = arguments[0];
const head = document.querySelector('#timeline [data-ref]');
if (!head || head.getAttribute('data-ref') !== ref) return null;
const steps = [...document.querySelectorAll('#timeline .step')];
if (!steps.length) return null;
return steps.map((s) => ({n: s.getAttribute('data-n'), type: s.getAttribute('data-type'),
    ok: s.querySelectorAll('.verify-ok').length, bad: s.querySelectorAll('.verify-bad').length,
    why: (s.querySelector('.why') || {}).textContent || ''}));
"""
JS_ALERTS = """
return [...document.querySelectorAll('#alerts li[data-rule]')].map(
    (li) => [li.getAttribute('data-rule'), li.getAttribute('data-active')]);
"""


def check_dashboard(driver, url, a, fixture):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    T = a.timeout
    js = driver.execute_script
    row_sel = '#movements table tbody tr[data-ref="%s"]'

    def click(what, sel):
        wait(driver, T, what, lambda d: d.find_element(By.CSS_SELECTOR, sel).click() or True)

    def search(text):
        def typed(d):
            box = d.find_element(By.ID, "f-text")
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(Keys.BACKSPACE)
            if text:
                box.send_keys(text)
            return box.get_attribute("value") == text
        wait(driver, T, "typing %r in the search box" % text, typed)

    def journey(ref):
        return wait(driver, T, "the journey of %s with its steps (#timeline .step)" % ref,
                    lambda d: js(JS_JOURNEY, ref))

    driver.get(url)

    # 1. the federation graph: every province and the center, with live states
    def graph(d):
        g = js(JS_GRAPH)
        if not g or not g["links"] or any(g["nodes"].get(p) not in ("up", "down") for p in PROVINCES):
            return None
        return g
    g = wait(driver, T, "the federation graph (#graph) with nodes %s up or down, and links"
             % " ".join(PROVINCES), graph)
    ids = g["nodes"]
    if not [i for i in ids if i not in PROVINCES]:
        raise Failed("the graph has no national center node (nodes: %s)" % " ".join(sorted(ids)))
    for f, t, st in g["links"]:
        if f not in ids or t not in ids:
            raise Failed("link %s>%s names a node the graph does not show" % (f, t))
        if st not in ("up", "down", "queued", "unknown"):
            raise Failed("link %s>%s has state %r" % (f, t, st))
    if fixture:
        got = {(f, t): st for f, t, st in g["links"]}
        for k, v in {("CQ", "SC"): "down", ("SN", "SH"): "queued", ("CQ", "SH"): "up"}.items():
            if got.get(k) != v:
                raise Failed("link %s>%s is %r, the fixture says %s" % (k[0], k[1], got.get(k), v))

    # 2. the counters
    wait(driver, T, "the live counters (#counters with the movements total)",
         lambda d: js("const e = document.querySelector('#counters [data-counter=movements_total]');"
                      "return e && /^[0-9,]+$/.test(e.textContent.trim())"))
    for key in ("in_rate", "out_rate", "discrepancies", "conflicts", "enquiries", "dead_letters"):
        if not driver.find_elements(By.CSS_SELECTOR, "#counters [data-counter=%s]" % key):
            raise Failed("counter %s is missing" % key)

    # 3. a movement row; the filters narrow the table
    rows = wait(driver, T, "a movement row (#movements table tbody tr[data-ref])", lambda d: js(JS_ROWS))
    if fixture:
        Select(driver.find_element(By.ID, "f-phase")).select_by_value("written_off")
        wait(driver, T, "only written_off movements after filtering by phase",
             lambda d: js(JS_ROWS) and {p for _, p in js(JS_ROWS)} == {"written_off"})
        Select(driver.find_element(By.ID, "f-phase")).select_by_value("")
        wait(driver, T, "all three movements back after clearing the filter", lambda d: len(js(JS_ROWS)) == 3)
    ref = a.ref
    if ref:
        search(ref)

        def only(d):
            refs = [r for r, _ in js(JS_ROWS)]
            return ref in refs and all(ref.upper() in r.upper() for r in refs)
        wait(driver, T, "movement %s alone in the table after searching for it" % ref, only)
    else:
        ref = rows[0][0]
        if not ref:
            raise Failed("the first movement row has an empty data-ref")

    # 4. its journey: steps, each with exactly one verification badge
    click("clicking the row of %s" % ref, row_sel % ref)
    steps = journey(ref)
    bad = []
    for i, st in enumerate(steps, 1):
        if st["ok"] + st["bad"] != 1:
            raise Failed("step %d of %s has no verification badge (.verify-ok / .verify-bad)" % (i, ref))
        if st["bad"]:
            bad.append("step %s (%s): %s" % (st["n"], st["type"], st["why"] or "failed"))
    if bad and not fixture and not a.allow_unverified:
        raise Failed("%s: %s" % (ref, "; ".join(bad)))
    if fixture:
        # the fixture's SC movement has one step whose signature fails
        search("")
        wait(driver, T, "all three movements back after clearing the search", lambda d: len(js(JS_ROWS)) == 3)
        sc = [r for r, _ in js(JS_ROWS) if r[2:4] == "SC"]
        if not sc:
            raise Failed("the fixture's SC movement is not in the table")
        click("clicking the row of %s" % sc[0], row_sel % sc[0])
        got = journey(sc[0])
        if [s["ok"] for s in got] != [1, 1, 0] or [s["bad"] for s in got] != [0, 0, 1]:
            raise Failed("%s: badges %s, the fixture has steps 1-2 verified and 3 failed" % (sc[0], got))
        click("clicking the row of %s" % ref, row_sel % ref)
        journey(ref)

    # 5. an alert, the active ones first
    rule = a.expect_alert
    alerts = wait(driver, T, "an alert of rule %s (#alerts li[data-rule=%s])" % (rule, rule) if rule
                  else "an alert (#alerts li[data-rule])",
                  lambda d: [x for x in js(JS_ALERTS) if not rule or x[0] == rule] and js(JS_ALERTS))
    if fixture and alerts[0][1] != "true":
        raise Failed("the active alert is not listed first")

    errs = js_errors(driver)
    if errs:
        raise Failed("JavaScript error: %s" % errs[0])
    return ref, len(steps)


def check_banner(driver, base, a):
    from selenium.webdriver.common.by import By

    def post(on):
        urllib.request.urlopen(urllib.request.Request(base + "_fixture/down?on=%d" % on, data=b"",
                                                      method="POST"), timeout=5).read()

    def banner(d):
        b = d.find_elements(By.ID, "banner")
        return b and b[0].is_displayed()
    post(1)
    try:
        wait(driver, a.timeout, "the 'center unreachable' banner once the center stops answering", banner)
        if not driver.find_elements(By.CSS_SELECTOR, "#movements table tbody tr[data-ref]"):
            raise Failed("the movements went away while the center was unreachable")
    finally:
        post(0)
    wait(driver, a.timeout, "the banner gone once the center answers again", lambda d: not banner(d))
    wait(driver, a.timeout, "the graph live again",
         lambda d: d.find_elements(By.CSS_SELECTOR, '#graph .node[data-id="CQ"][data-state="up"]'))
    errs = js_errors(driver)
    if errs:
        raise Failed("JavaScript error: %s" % errs[0])


def main():
    ap = argparse.ArgumentParser(description="the dashboard in headless Chromium")
    ap.add_argument("url", help="the dashboard URL, or --fixture")
    ap.add_argument("--screenshot", metavar="PATH")
    ap.add_argument("--expect-alert", metavar="RULE")
    ap.add_argument("--ref", metavar="REF")
    ap.add_argument("--allow-unverified", action="store_true",
                    help="do not fail on a step whose verification fails")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per wait (20)")
    argv = sys.argv[1:]
    fixture = "--fixture" in argv
    if fixture:
        argv = [x for x in argv if x != "--fixture"]
        argv.insert(0, "fixture")
    a = ap.parse_args(argv)

    passed = failed = 0
    srv = driver = None
    profile = tempfile.mkdtemp(prefix="eport-dashboard-")
    url = a.url
    try:
        if fixture:
            sys.path.insert(0, HERE)
            import fixture_server
            srv, url = fixture_server.start()
        try:
            driver = make_driver(profile)
            ref, nsteps = check_dashboard(driver, url, a, fixture)
            print("fed: dashboard ok")
            sys.stderr.write("dashboard: %s, movement %s with %d steps\n" % (url, ref, nsteps))
            passed += 1
        except Failed as e:
            print("fed: dashboard FAILED: %s" % e)
            failed += 1
        except Exception as e:  # the browser or driver itself
            print("fed: dashboard FAILED: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
            failed += 1
        if a.screenshot and driver is not None:
            try:
                screenshot(driver, a.screenshot)
                sys.stderr.write("dashboard: screenshot %s\n" % a.screenshot)
            except Exception as e:
                print("fed: dashboard FAILED: screenshot: %s" % e)
                failed += 1
        if fixture and driver is not None:
            try:
                check_banner(driver, url, a)
                print("fed: dashboard_banner ok")
                passed += 1
            except Exception as e:
                print("fed: dashboard_banner FAILED: %s" % (str(e).splitlines()[0] if str(e) else type(e).__name__))
                failed += 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    print("fed: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
