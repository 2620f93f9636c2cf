"""Drives the sts admin console in headless Chromium (selenium), checking each result in the
browser and over the JSON APIs, and saving a screenshot of every page.

Usage: console.py BASE_URL ADMIN_PASSWORD DEMO_PASSWORD OUT_DIR
Waits on page conditions (WebDriverWait), never on time. Exits non-zero on the first failure
or on any error in the browser's console.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, ADMIN_PW, DEMO_PW, OUT = sys.argv[1:5]
XSS = '<img src=x onerror="window.xssFired=1">'
# Generous: Chromium on a loaded two-core machine is slow; a correct run never nears it.
WAIT = 120


def http(method, path, body=None, headers=None, form=None):
    """One request to the server; returns (status, parsed JSON or text)."""
    data = None
    h = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if form is not None:
        data = form.encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as r:
            status, text, hdrs = r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read().decode(), e.headers
    try:
        return status, json.loads(text), hdrs
    except ValueError:
        return status, text, hdrs


def sso(user, password, realm_path=""):
    status, body, _ = http("POST", f"/json/{realm_path}authenticate",
                           headers={"X-OpenAM-Username": user, "X-OpenAM-Password": password,
                                    "Content-Type": "application/json"}, body={})
    assert status == 200, body
    return body["tokenId"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


options = webdriver.ChromeOptions()
options.add_argument("--headless=new")
options.add_argument("--no-sandbox")
options.add_argument("--disable-dev-shm-usage")
options.add_argument("--disable-gpu")
options.add_argument("--window-size=1280,1000")
profile = tempfile.mkdtemp(prefix="console-chromium-")
options.add_argument(f"--user-data-dir={profile}")
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
chromedriver = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
# A page re-renders its rows after each change: an element read meanwhile is stale, read again.
wait = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])
console_errors = []


def collect_logs():
    for e in driver.get_log("browser"):
        # A refused request (401 before sign-in, the stale edit's 412, the CSRF probe's 403) is
        # logged by Chromium as a network error: expected here, checked by each step.
        if e["level"] == "SEVERE" and e.get("source") != "network":
            console_errors.append(e)


def shot(name, focus=None):
    collect_logs()
    if focus is not None:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", focus)
    driver.save_screenshot(os.path.join(OUT, f"{name}.png"))


def q(css):
    return driver.find_element(By.CSS_SELECTOR, css)


def qs(css):
    return driver.find_elements(By.CSS_SELECTOR, css)


def on_page(name):
    wait.until(lambda d: d.find_element(By.ID, "main").get_attribute("data-page") == name
               and d.find_element(By.ID, "main").get_attribute("data-state") == "ready")


def go(hash_):
    driver.get(f"{BASE}/console/#{hash_}")


def typed(css, text, clear=True):
    e = q(css)
    if clear:
        e.clear()
    e.send_keys(text)


def flash_says(text):
    wait.until(lambda d: text in d.find_element(By.ID, "flash").text)


def sign_in(user, password, realm="/"):
    go("/")
    on_page("login")
    typed("#login-user", user)
    typed("#login-password", password)
    typed("#login-realm", realm)
    q("#login-submit").click()


try:
    # ---- the page itself: headers ---------------------------------------------------------
    status, _, hdrs = http("GET", "/console/")
    check(status == 200, f"/console/: {status}")
    csp = hdrs.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp)
    check(hdrs.get("X-Frame-Options") == "DENY", hdrs)

    # ---- sign in ------------------------------------------------------------------------
    sign_in("amadmin", "wrong-password")
    wait.until(lambda d: "Sign-in failed" in d.find_element(By.ID, "login-error").text)
    shot("login")
    sign_in("amadmin", ADMIN_PW)
    on_page("instances")
    cookie = next(c for c in driver.get_cookies() if c["name"] == "sts-console")
    check(cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie)
    check(cookie["path"] == "/console/", cookie)
    check(driver.execute_script("return document.cookie").find("sts-console") < 0,
          "the session cookie is readable from script")
    check(any(r.get_attribute("data-id") == "soap-username-transformer"
              for r in qs("#instances-soap tbody tr")), "the demo SOAP instance is not listed")
    shot("instances")

    # ---- a REST instance through the form; its errors next to its fields ------------------
    q("#new-rest").click()
    on_page("instance-form")
    typed("#f-deployment-config-deployment-url-element", "console-rest")
    typed("#f-supported-token-transforms", "USERNAME -> OPENIDCONNECT")
    typed("#f-oidc-id-token-config-oidc-issuer", "https://sts.example.com/console")
    typed("#f-oidc-id-token-config-oidc-audience", "rp-console")
    typed("#f-oidc-id-token-config-oidc-signature-algorithm", "RS256")
    typed("#f-saml2-config-saml2-token-lifetime-seconds", "-5")
    q("#f-persist-issued-tokens-in-cts").click()
    q("#save-instance").click()
    lifetime_error = '.field-error[data-for="saml2-config.saml2-token-lifetime-seconds"]'
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, lifetime_error).text)
    print("field error:", q(lifetime_error).text, "| below the form:", q("#form-error").text)
    shot("instance-form", q(lifetime_error))
    typed("#f-saml2-config-saml2-token-lifetime-seconds", "")
    q("#f-saml2-config-saml2-token-lifetime-seconds").clear()
    q("#save-instance").click()
    on_page("instance")
    check(q("#endpoint-url").text == f"{BASE}/rest-sts/console-rest", q("#endpoint-url").text)
    check("USERNAME → OPENIDCONNECT" in q("#transforms").text, q("#transforms").text)
    shot("instance")

    # ... and a token translated through it over the REST API.
    admin = sso("amadmin", ADMIN_PW)
    def translate():
        status, body, _ = http("POST", "/rest-sts/console-rest?_action=translate",
                               headers={"iPlanetDirectoryPro": admin},
                               body={"input_token_state": {"token_type": "USERNAME", "username": "demo",
                                                           "password": DEMO_PW},
                                     "output_token_state": {"token_type": "OPENIDCONNECT", "nonce": "n1",
                                                            "allow_access": True}})
        check(status == 200, f"translate: {status} {body}")
        return body["issued_token"]
    id_token = translate()

    # ---- a stale edit is reported -------------------------------------------------------
    q("#edit-instance").click()
    on_page("instance-form")
    # Someone else changes the instance meanwhile.
    status, current, _ = http("GET", "/sts-publish/rest/console-rest", headers={"iPlanetDirectoryPro": admin})
    state = current["console-rest"]
    state["oidc-id-token-config"]["oidc-audience"] = ["rp-console", "rp-other"]
    status, body, _ = http("PUT", "/sts-publish/rest/console-rest", headers={"iPlanetDirectoryPro": admin,
                           "If-Match": current["_rev"]}, body={"instance_state": state})
    check(status == 200, f"concurrent update: {status} {body}")
    typed("#f-oidc-id-token-config-oidc-issuer", "https://sts.example.com/changed")
    q("#save-instance").click()
    wait.until(lambda d: d.find_elements(By.ID, "stale"))
    check("Stale edit" in q("#stale").text, q("#stale").text)
    shot("stale-edit", q("#stale"))
    status, after, _ = http("GET", "/sts-publish/rest/console-rest", headers={"iPlanetDirectoryPro": admin})
    check(after["console-rest"]["oidc-id-token-config"]["oidc-issuer"] == "https://sts.example.com/console",
          "the stale edit was saved")

    # ---- an XSS probe renders as text ---------------------------------------------------
    go("/instance-new/rest")
    on_page("instance-form")
    typed("#f-deployment-config-deployment-url-element", XSS)
    typed("#f-supported-token-transforms", "USERNAME -> OPENIDCONNECT")
    typed("#f-oidc-id-token-config-oidc-issuer", XSS)
    typed("#f-oidc-id-token-config-oidc-audience", "rp-xss")
    q("#save-instance").click()
    wait.until(lambda d: XSS in d.find_element(By.ID, "main").text)
    check(not qs("main img"), "markup from the API was rendered as an element")
    check(driver.execute_script("return window.xssFired === undefined"), "the probe ran")

    # ---- delete asks for confirmation ---------------------------------------------------
    go("/instance-new/rest")
    on_page("instance-form")
    typed("#f-deployment-config-deployment-url-element", "console-doomed")
    typed("#f-supported-token-transforms", "USERNAME -> OPENIDCONNECT")
    typed("#f-oidc-id-token-config-oidc-issuer", "https://sts.example.com/doomed")
    typed("#f-oidc-id-token-config-oidc-audience", "rp-doomed")
    q("#save-instance").click()
    on_page("instance")
    q("#delete-instance").click()
    wait.until(lambda d: d.find_element(By.ID, "confirm-box").is_displayed())
    check(http("GET", "/sts-publish/rest/console-doomed", headers={"iPlanetDirectoryPro": admin})[0] == 200,
          "deleted before the confirmation")
    q("#confirm-delete").click()
    on_page("instances")
    check(http("GET", "/sts-publish/rest/console-doomed", headers={"iPlanetDirectoryPro": admin})[0] == 404,
          "not deleted after the confirmation")

    # ---- tokens: query, page, cancel ----------------------------------------------------
    more = [translate(), translate()]
    check(len(set(more + [id_token])) == 3, "three distinct tokens")
    go("/tokens")
    on_page("tokens")
    typed("#tok-instance", "console-rest")
    typed("#tok-principal", "demo")
    typed("#tok-size", "2")
    q("#tok-search").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tokens-table tbody tr")) == 2
               and d.find_elements(By.ID, "next-page"))
    first_page = [r.get_attribute("data-id") for r in qs("#tokens-table tbody tr")]
    q("#next-page").click()
    wait.until(lambda d: [r.get_attribute("data-id") for r in d.find_elements(
        By.CSS_SELECTOR, "#tokens-table tbody tr")] not in ([], first_page))
    second_page = [r.get_attribute("data-id") for r in qs("#tokens-table tbody tr")]
    check(len(second_page) == 1 and second_page[0] not in first_page, (first_page, second_page))
    victim = second_page[0]
    shot("tokens")
    q(f'button.cancel-token[data-id="{victim}"]').click()
    flash_says(f"Token {victim} cancelled.")
    status, _, _ = http("GET", f"/sts-tokengen/{victim}", headers={"iPlanetDirectoryPro": admin})
    check(status == 404, f"the cancelled token is still in /sts-tokengen ({status})")
    status, listed, _ = http("GET", "/sts-tokengen?_queryFilter=true", headers={"iPlanetDirectoryPro": admin})
    check(victim not in [t["token_id"] for t in listed["result"]], "the cancelled token is still listed")

    # ---- OAuth clients: the secret once, then introspection with it ---------------------
    go("/clients")
    on_page("clients")
    typed("#client-id", "console-client")
    q("#client-add").click()
    wait.until(lambda d: d.find_elements(By.ID, "client-secret"))
    secret = q("#client-secret").text
    check(len(secret) >= 20, "no client secret shown")
    shot("clients")
    auth = base64.b64encode(f"console-client:{secret}".encode()).decode()
    # A token issued after the cancel: the one cancelled above is whichever of the three the
    # listing's order put on page two, possibly id_token.
    live_token = translate()
    status, body, _ = http("POST", "/oauth2/introspect", headers={"Authorization": f"Basic {auth}"},
                           form="token=" + urllib.parse.quote(live_token, safe=""))
    check(status == 200 and body.get("active") is True, f"introspection with the shown secret: {status} {body}")
    go("/keys")
    on_page("keys")
    go("/clients")
    on_page("clients")
    check(secret not in driver.page_source, "the client secret was shown again")
    q('button.delete-client[data-id="console-client"]').click()
    flash_says("Client console-client deleted.")
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, '#clients-table tr[data-id="console-client"]'))

    # ---- keys: rotate, import an RP certificate -----------------------------------------
    go("/keys")
    on_page("keys")
    row = '#keys-table tr[data-alias="sts-signing"]'
    before = q(row + " .fingerprint").text
    check(len(before) > 20, before)
    q(f'{row} button.rotate-key').click()
    flash_says("Key sts-signing rotated")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, row + " .fingerprint").text != before)
    check("rotated" in q(row).text, q(row).text)
    tmp = tempfile.mkdtemp(prefix="console-rp-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=console-rp", "-keyout", os.path.join(tmp, "k.pem"),
                    "-out", os.path.join(tmp, "c.pem")], check=True, capture_output=True)
    typed("#import-alias", "console-rp")
    typed("#import-pem", open(os.path.join(tmp, "c.pem")).read())
    q("#import-submit").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#keys-table tr[data-alias="console-rp"]'))
    check("certificate" in q('#keys-table tr[data-alias="console-rp"]').text, "imported row")
    shot("keys")

    # ---- users: add, disable, enable, reset a password ----------------------------------
    go("/users")
    on_page("users")
    typed("#user-name", "bob")
    typed("#user-password", "bob-pw-1")
    q("#user-add").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#users-table tr[data-id="bob"]'))
    sso("bob", "bob-pw-1")
    bob = '#users-table tr[data-id="bob"]'
    q(bob + " .toggle-user").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, bob + " .user-status").text == "Inactive")
    check(http("POST", "/json/authenticate", body={},
               headers={"X-OpenAM-Username": "bob", "X-OpenAM-Password": "bob-pw-1"})[0] == 401,
          "a disabled user signed in")
    q(bob + " .toggle-user").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, bob + " .user-status").text == "Active")
    q(bob + " .reset-password").click()
    typed(bob + " .reset-password-input", "bob-pw-2")
    q(bob + " .reset-password-save").click()
    flash_says("Password of bob reset.")
    sso("bob", "bob-pw-2")
    shot("users")

    # ---- status -------------------------------------------------------------------------
    go("/status")
    on_page("status")
    check(q("#status-store").text == "sqlite", q("#status-store").text)
    check("REST" in q("#status-instances").text, q("#status-instances").text)
    check(q("#status-version").text, "no version")

    # Request rates: known REST requests move the REST front end's total and its recent count
    # (counts are process-wide: other tests' servers may add to them, never take away).
    def rest_counts():
        row = '#rates-table tr[data-frontend="rest"]'
        return int(q(row + " .rate-total").text), int(q(row + " .rate-recent").text)

    total_before, _ = rest_counts()
    for _ in range(3):
        translate()

    def refreshed_counts(d):
        q("#status-refresh").click()
        on_page("status")
        total, recent = rest_counts()
        return (total, recent) if total >= total_before + 3 else False

    total_after, recent_after = wait.until(refreshed_counts)
    check(recent_after >= 3, f"recent REST requests {recent_after} after 3 translations")
    print(f"status: REST total {total_before} -> {total_after}, recent {recent_after}")
    shot("status")

    # ---- a state-changing request without the CSRF token is refused ---------------------
    probe = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/console/api/sts-clients?_action=create', {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json'}, body: JSON.stringify({client_id: 'forged'})})
          .then((r) => done(r.status)).catch((e) => done(String(e)));""")
    check(probe == 403, f"a request without the CSRF token: {probe}")
    status, clients, _ = http("GET", "/sts-clients", headers={"iPlanetDirectoryPro": admin})
    check("forged" not in [c["client_id"] for c in clients["result"]], "the forged client exists")

    # ---- sign out ends the session on the server ----------------------------------------
    session = next(c for c in driver.get_cookies() if c["name"] == "sts-console")["value"]
    q("#signout").click()
    on_page("login")
    status, body, _ = http("POST", "/json/sessions?_action=validate", body={"tokenId": session})
    check(body.get("valid") is False, f"the session outlived sign-out: {body}")

    # ---- a realm administrator sees only their realm ------------------------------------
    sign_in("realmadmin", "realm-pw-1", "other")
    on_page("instances")
    check(not qs("#instances-rest-error") and not qs("#instances-soap-error"), q("#main").text)
    rest_ids = [r.get_attribute("data-id") for r in qs("#instances-rest tbody tr")]
    soap_ids = [r.get_attribute("data-id") for r in qs("#instances-soap tbody tr")]
    check(rest_ids == ["other/other-rest"] and soap_ids == [], f"a realm admin's instances: {rest_ids} {soap_ids}")
    check("console-rest" not in q("#main").text, "a realm admin saw another realm's instance")
    shot("realm-admin-instances")
    # ... reads one of them, and cannot reconfigure it: instances sign with the node's keys,
    # so editing is the top-level administrator's (the API's 403 shows under the form).
    go("/instance/rest/other%2Fother-rest")
    on_page("instance")
    check("other-rest" in q("#instance-json").get_attribute("textContent"), "the realm admin's instance")
    go("/instance-edit/rest/other%2Fother-rest")
    on_page("instance-form")
    typed("#f-oidc-id-token-config-oidc-audience", "rp-other-2")
    q("#save-instance").click()
    wait.until(lambda d: "(403)" in d.find_element(By.ID, "form-error").text)
    shot("realm-admin-edit-refused")
    # Another realm's instance is not found to them, even by its name.
    go("/instance/rest/console-rest")
    wait.until(lambda d: d.find_element(By.ID, "main").get_attribute("data-state") == "ready")
    check("console-rest" in q("#main .error").text and "404" in q("#main .error").text, q("#main").text)
    # The request rates count every realm's traffic: not shown to a realm's administrator.
    go("/status")
    on_page("status")
    check("top-level realm" in q("#status-rates").text and not qs("#rates-table"), q("#status-rates").text)
    go("/clients")
    on_page("clients")
    wait.until(lambda d: d.find_elements(By.ID, "clients-table"))
    ids = [r.get_attribute("data-id") for r in qs("#clients-table tbody tr")]
    check(ids == ["other-realm-client"], f"a realm admin's clients: {ids}")
    go("/users")
    on_page("users")
    wait.until(lambda d: d.find_elements(By.ID, "users-table"))
    typed("#users-realm", "/")
    q("#users-load").click()
    wait.until(lambda d: d.find_elements(By.ID, "users-error"))
    check("403" in q("#users-error").text, q("#users-error").text)
    check("amadmin" not in q("#main").text, "a realm admin saw the top-level realm's users")
    shot("realm-admin")
    go("/keys")
    on_page("keys")
    check(not qs("#keys-table"), "a realm admin saw the keys")

    collect_logs()
    check(not console_errors, f"browser console errors: {console_errors}")
    print("console: every check passed")
except (AssertionError, WebDriverException) as e:
    shot("failure")
    collect_logs()
    print(f"FAILED: {type(e).__name__}: {e}")
    print(f"page: {driver.current_url}\n{driver.find_element(By.TAG_NAME, 'body').text[:3000]}")
    print(f"console: {console_errors}")
    sys.exit(1)
finally:
    driver.quit()
