"""Plays the user at an OpenID provider in headless Chromium: opens URL, enters the device's
user code when asked, signs in with USERNAME and PASSWORD, confirms the device, and stops at the
page that ends the sign-in (the provider's success page, or aws-runas's loopback listener).
Usage: oidc.py URL USERNAME PASSWORD [USER_CODE]; prints what it saw as JSON."""
import json
import sys

from playwright.sync_api import sync_playwright

url, username, password = sys.argv[1:4]
user_code = sys.argv[4] if len(sys.argv) > 4 else ""
seen = []
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
    page = browser.new_page()
    page.goto(url)
    for _ in range(10):
        # Auto-posting pages (the provider's "Submitting Callback") move on by themselves.
        page.wait_for_load_state("networkidle")
        seen.append(page.title())
        if page.query_selector("#success") or "oauth/callback" in page.url or "/callback" in page.url:
            break
        if page.query_selector('input[name="user_code"]:not([type="hidden"])'):
            if user_code and not page.input_value('input[name="user_code"]'):
                page.fill('input[name="user_code"]', user_code)
            with page.expect_navigation():
                page.click("#continue")
        elif page.query_selector('input[type="password"]'):
            page.fill("#username", username)
            page.fill("#password", password)
            with page.expect_navigation():
                page.click("#submit")
        elif page.query_selector("#confirm"):
            with page.expect_navigation():
                page.click("#confirm")
        else:
            break
    print(json.dumps({"url": page.url.split("?")[0], "titles": seen,
                      "text": page.inner_text("body")[:500]}))
    browser.close()
