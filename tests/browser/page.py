"""Drives the profile page in headless Chromium: the list renders, Use switches the active
profile, and the page shows it. Usage: page.py URL PROFILE_TO_USE; prints what it saw as JSON."""
import json
import sys

from playwright.sync_api import sync_playwright

url, target = sys.argv[1], sys.argv[2]
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
    # The page forbids eval (CSP); the probes below are the test's, not the page's.
    page = browser.new_page(bypass_csp=True)
    page.goto(url)
    page.wait_for_selector("#profiles li")
    listed = page.eval_on_selector_all("#profiles li", "items => items.map(i => i.dataset.profile)")
    first = page.inner_text("#profile")
    page.click(f'#profiles li[data-profile="{target}"] button.use')
    page.wait_for_function(f"document.querySelector('#profile').textContent === {json.dumps(target)}")
    active = page.inner_text("#profiles li.active")
    print(json.dumps({"listed": listed, "first": first, "switched": page.inner_text("#profile"),
                      "active_item": active, "expiration": page.inner_text("#expiration")}))
    browser.close()
