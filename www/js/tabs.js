// An accessible tab list (WAI-ARIA tabs pattern): click or arrow keys move
// between tabs, Home/End jump, only the selected tab is in the tab order.

/** Wires every `[role=tablist]` on the page. */
export function setupTabs() {
  for (const list of document.querySelectorAll("[role=tablist]")) {
    const tabs = [...list.querySelectorAll("[role=tab]")];
    const select = (tab, focus = true) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
      if (focus) tab.focus();
      tab.dispatchEvent(new CustomEvent("tabshown", { bubbles: true }));
    };
    for (const tab of tabs) {
      tab.type = "button";
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        const i = tabs.indexOf(tab);
        const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length]);
      });
    }
  }
}
