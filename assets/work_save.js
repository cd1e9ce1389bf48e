() => {
  // The working state (webui/ui/working_state.py) is written by one browser-only event, the
  // input of the hidden #zq_work_save box, shortly after each of the visitor's own inputs
  // (anywhere: a dropdown's options are drawn outside its tab; the write runs in the page
  // only, a few milliseconds). One event with one trigger instead of an `.input` per field:
  // Gradio's page matches every component against every event's triggers at each load, and
  // 280 triggers made that its largest cost.
  const DELAY_MS = 100;  // edits within it are written together
  let pending = null;
  // an input event, not a click: a click would also reach whatever closes on a click
  // elsewhere (Gradio's "More tabs" menu)
  const save = () => {
    pending = null;
    const box = document.querySelector("#zq_work_save textarea, #zq_work_save input");
    if (!box) return;
    box.value = String(Date.now());
    box.dispatchEvent(new Event("input", {bubbles: true}));
  };
  const edited = (event) => {
    // a visitor's own input (the event `save` sends is not trusted)
    if (!event.isTrusted || pending !== null) return;
    pending = setTimeout(save, DELAY_MS);
  };
  for (const kind of ["input", "change", "click", "keyup"]) {
    document.addEventListener(kind, edited, true);
  }
  // a page going to the background (a tab switch, a phone's home button) writes at once
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && pending !== null) { clearTimeout(pending); save(); }
  });
}
