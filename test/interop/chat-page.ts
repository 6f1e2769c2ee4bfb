/**
 * Driving the demo chat's page in Chromium (playwright-core): say something, wait for a message
 * or a text, as a person would see it. Shared by the demo's Chromium tests.
 */
import type { Page } from "playwright-core";

/** How long a page may take to show what a test waits for, ms. */
export const PAGE_TIMEOUT = 20_000;

export async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** Wait until `text` is shown as a sent message, and return how many times it is shown. */
export async function waitMessage(page: Page, text: string): Promise<number> {
  await page.waitForFunction(
    (t) =>
      [...document.querySelectorAll("#messages li.message[data-state=sent] .text")].some((e) => e.textContent === t),
    text,
    { timeout: PAGE_TIMEOUT, polling: 20 },
  );
  return page.evaluate(
    (t) => [...document.querySelectorAll("#messages li.message .text")].filter((e) => e.textContent === t).length,
    text,
  );
}

/** Wait until the element `selector` shows `text`. */
export function waitText(page: Page, selector: string, text: string): Promise<unknown> {
  return page.waitForFunction(
    ([s, t]) => (document.querySelector(s!)?.textContent ?? "").includes(t!),
    [selector, text],
    { timeout: PAGE_TIMEOUT, polling: 20 },
  );
}
