"""Each dashboard page against a store of 10,000+ payouts (made by `payouts demo`), in chromium:
the seconds until its content is on screen, each within the budget.

Usage: budget.py BASE_URL OPERATOR_TOKEN
"""

import json
import sys
import time

from playwright.sync_api import sync_playwright

BASE, OPERATOR = sys.argv[1], sys.argv[2]
BUDGET_S = 1.0
PAGES = ["/dashboard", "/dashboard/payouts", "/dashboard/payouts?status=completed",
         "/dashboard/attention", "/dashboard/barbers", "/dashboard/upcoming"]


def main():
    timings = {}
    total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{BASE}/dashboard")
        page.get_by_label("Token").fill(OPERATOR)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#page h1")
        total = sum(json.loads(page.evaluate(
            "async (token) => JSON.stringify((await (await fetch('/api/v1/payout-scheduler/health/report', "
            "{headers: {Authorization: `Bearer ${token}`}})).json()).payouts_by_status)",
            OPERATOR,
        )).values())
        assert total >= 10_000, f"only {total} payouts"
        page.goto(f"{BASE}/dashboard/payouts")
        page.wait_for_selector("#payouts a")
        PAGES.append(page.locator("#payouts a").first.get_attribute("href"))
        PAGES.append(page.locator("#payouts tbody tr td:nth-child(2)").first.inner_text().join(["/dashboard/barbers/", ""]))
        for path in PAGES:
            started = time.time()
            page.goto(f"{BASE}{path}")
            page.wait_for_selector("#page h1")
            timings[path] = round(time.time() - started, 3)
            failed = page.locator("#page > p.problem")
            assert failed.count() == 0, f"{path}: {failed.first.inner_text()}"
        # The forecast pages: 1,800 barbers are more than a page of runs; "Show more" adds the next.
        page.goto(f"{BASE}/dashboard/upcoming")
        page.wait_for_selector("#runs tbody tr")
        shown = page.locator("#runs tbody tr").count()
        assert shown == 100, f"{shown} runs on the first page"
        started = time.time()
        page.get_by_role("button", name="Show more").click()
        page.locator("#runs tbody tr").nth(100).wait_for()
        timings["upcoming, show more"] = round(time.time() - started, 3)
        browser.close()
    print(json.dumps({"payouts": total, "page_seconds": timings}))
    slow = {path: seconds for path, seconds in timings.items() if seconds > BUDGET_S}
    assert not slow, f"over {BUDGET_S} s: {slow}"


if __name__ == "__main__":
    main()
