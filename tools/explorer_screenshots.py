"""The README's screenshots of `genlab explore`: one per tab, taken by headless Chromium.

    python tools/explorer_screenshots.py docs/explore [RUN ...]    # default: the pretrained models

Needs the app and browser-test extras (`pip install -e ".[app,browser-test]"`) and the Debian
chromium. Each tab is shown after one interaction that shows what it is for (a slider moved, a
class picked, a digit drawn, a manifold point clicked), so the pictures are of a working page.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path


def main(out: str, runs: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    from genlab import api, explorer

    runs = runs or [model.name for model in api.pretrained_models()]
    models = explorer.open_models(runs)
    app, url = explorer.launch(models, port=explorer.free_port(), block=False, quiet=True)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
            page.goto(url, wait_until="load", timeout=120_000)
            page.wait_for_selector("[role=tab]", timeout=120_000)
            page.wait_for_timeout(2000)
            tabs = page.get_by_role("tab")
            names = [tabs.nth(index).inner_text() for index in range(tabs.count())]
            for index, name in enumerate(names):
                page.get_by_role("tab", name=name, exact=True).click()
                page.wait_for_timeout(800)
                model = models[index] if index < len(models) else None
                if model is not None and model.family in ("ae", "dae"):
                    page.locator(".canvas button[aria-label='Brush']").first.click()
                    page.locator(".canvas canvas:visible").first.scroll_into_view_if_needed()
                    box = page.locator(".canvas canvas:visible").first.bounding_box()
                    _draw_seven(page, box)
                    page.wait_for_selector(".output:visible img", timeout=60_000)
                elif model is not None:
                    if model.space.num_classes:
                        page.locator(".class input:visible").first.click()
                        page.get_by_role("option", name="7", exact=True).click()
                        page.wait_for_timeout(1500)
                    page.locator(".interpolate:visible").first.click()
                    page.wait_for_selector(".line:visible img", timeout=60_000)
                    if model.family == "vae" and model.space.size == 2:
                        page.locator(".manifold:visible img").first.scroll_into_view_if_needed()   # clicks land in the viewport only
                        box = page.locator(".manifold:visible img").first.bounding_box()
                        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
                        page.wait_for_selector(".clicked:visible img", timeout=60_000)
                else:
                    page.locator(".side-draw").first.click()
                    page.wait_for_timeout(3000)
                page.wait_for_timeout(1000)
                page.evaluate("window.scrollTo(0, 0)")
                path = folder / f"explore-{name.replace(' ', '-')}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"wrote {path}")
            browser.close()
    finally:
        app.close()


def _draw_seven(page, box) -> None:
    """A '7': a top bar, then a diagonal down to the left."""
    left, top = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.25
    right, bottom = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8
    page.mouse.move(left, top)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(left + (right - left) * step / 10, top)
    for step in range(1, 16):
        page.mouse.move(right - (right - left) * 0.55 * step / 15, top + (bottom - top) * step / 15)
    page.mouse.up()
    time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/explore", sys.argv[2:])
