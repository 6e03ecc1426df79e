"""Plays the user's browser for the SAML `browser` provider in headless Chromium: opens the link
aws-runas printed, signs in at the IdP's login form, and lets the IdP's auto-posting page deliver
the assertion to aws-runas's loopback endpoint. Usage: saml_signin.py URL USERNAME PASSWORD;
prints what the last page said, as JSON."""
import json
import sys

from playwright.sync_api import sync_playwright

url, username, password = sys.argv[1], sys.argv[2], sys.argv[3]
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    # The IdP's page posts itself (its script clicks the submit button) to the ACS.
    page.wait_for_url("**/saml/acs")
    page.wait_for_load_state()
    print(json.dumps({"url": page.url, "text": page.inner_text("body")}))
    browser.close()
