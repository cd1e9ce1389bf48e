() => {
  // Autocomplete in the prompt boxes, as a1111-sd-webui-tagcomplete: after "<lora:" the
  // LoRA names the service lists (completed as <lora:name:1>); on a word, the LoRAs and
  // embeddings whose name holds it, and the tag list's tags when the app has one (asked of
  // the server: the page carries none of it). Up/Down choose, Enter or Tab take, Esc closes.
  const MAX_SHOWN = 12;
  const TAGS_URL = "api/zhiqite/tags?q=";
  let box = null, items = [], chosen = 0, area = null, fragment = null, asked = 0;

  const names = (id) => [...document.querySelectorAll(`#${id} option`)]
    .map((option) => ({ value: option.value, label: option.textContent || option.value }));
  const tagsOn = () => document.querySelector("#zq_lora_names")?.dataset.tags === "on";

  const hide = () => { if (box) box.remove(); box = null; };
  const close = () => { hide(); items = []; };

  const show = () => {
    hide();
    if (!items.length || !area) return;
    box = document.createElement("div");
    box.className = "zq-complete";
    box.setAttribute("role", "listbox");
    items.forEach((item, i) => {
      const row = document.createElement("div");
      row.className = "zq-complete-item" + (i === chosen ? " zq-chosen" : "");
      row.setAttribute("role", "option");
      row.textContent = item.label;
      const kind = document.createElement("small");
      kind.textContent = item.kind;
      row.appendChild(kind);
      row.addEventListener("mousedown", (event) => { event.preventDefault(); take(i); });
      box.appendChild(row);
    });
    const rect = area.getBoundingClientRect();
    const viewport = window.visualViewport ? window.visualViewport.height : window.innerHeight;
    const below = viewport - rect.bottom - 8, above = rect.top - 8;
    box.style.left = `${Math.max(0, rect.left)}px`;
    box.style.maxWidth = `${Math.min(window.innerWidth - 8, Math.max(200, rect.width))}px`;
    document.body.appendChild(box);
    // below the prompt where it fits (on a phone the keyboard takes the lower half), else above
    const height = box.offsetHeight;
    if (height <= below || below >= above) {
      box.style.top = `${rect.bottom + 2}px`;
      box.style.maxHeight = `${Math.max(80, below)}px`;
    } else {
      box.style.maxHeight = `${above}px`;
      box.style.top = `${Math.max(4, rect.top - 2 - Math.min(height, above))}px`;
    }
  };

  const take = (i) => {
    const item = items[i];
    if (!item || !area || !fragment) return;
    const text = area.value;
    const after = text.slice(fragment.end);
    const tail = item.tag && !after.trim() ? ", " : "";
    area.value = text.slice(0, fragment.start) + item.insert + tail + after;
    const caret = fragment.start + item.insert.length + tail.length;
    area.setSelectionRange(caret, caret);
    close();
    area.dispatchEvent(new Event("input", { bubbles: true }));  // Gradio reads the new value
  };

  const suggest = async (target) => {
    const ask = ++asked;  // an answer for an earlier keystroke must not show after this one
    const caret = target.selectionStart;
    if (caret !== target.selectionEnd) return close();
    const before = target.value.slice(0, caret);
    area = target;
    const lora = before.match(/<lora:([^:>\s]*)$/i);
    if (lora) {
      const query = lora[1].toLowerCase();
      fragment = { start: caret - lora[0].length, end: caret };
      items = names("zq_lora_names")
        .filter((n) => n.value.toLowerCase().includes(query) || n.label.toLowerCase().includes(query))
        .slice(0, MAX_SHOWN)
        .map((n) => ({ label: n.label, kind: "LoRA", insert: `<lora:${n.value}:1>` }));
      chosen = 0;
      return show();
    }
    const word = before.match(/[^\s,()\[\]|:<>{}]{2,}$/);
    if (!word) return close();
    const query = word[0].toLowerCase();
    fragment = { start: caret - word[0].length, end: caret };
    const found = [
      ...names("zq_embedding_names").map((n) => ({ ...n, kind: "embedding", insert: n.value })),
      ...names("zq_lora_names").map((n) => ({ ...n, kind: "LoRA", insert: `<lora:${n.value}:1>` })),
    ].filter((n) => n.value.toLowerCase().includes(query) || n.label.toLowerCase().includes(query))
      .slice(0, MAX_SHOWN);
    if (tagsOn()) {
      try {
        const answer = await fetch(TAGS_URL + encodeURIComponent(query));
        if (ask !== asked) return;  // the visitor typed on: a later answer shows
        const tags = answer.ok ? await answer.json() : [];
        if (ask !== asked) return;
        for (const [tag, count, alias] of tags) {
          if (found.length >= MAX_SHOWN) break;
          found.push({ label: alias ? `${alias} → ${tag}` : tag, tag: true,
                       kind: count ? String(count) : "tag", insert: tag });
        }
      } catch (error) { /* the tags are a help: the prompt works without them */ }
    }
    items = found;
    chosen = 0;
    show();
  };

  const isPrompt = (target) => target instanceof HTMLTextAreaElement && target.closest("[id$='_prompt']");

  document.addEventListener("input", (event) => {
    if (isPrompt(event.target) && event.isTrusted) suggest(event.target);
  });
  const MOVES_CARET = new Set(["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);
  document.addEventListener("keydown", (event) => {
    if (!box || event.target !== area) return;
    // the caret moves, or Ctrl+Enter generates: what was offered is for another spot
    if (MOVES_CARET.has(event.key) || event.ctrlKey || event.metaKey || event.altKey) return close();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      show();
    } else if (event.key === "Enter" || event.key === "Tab") {
      take(chosen);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);
  document.addEventListener("focusout", (event) => { if (event.target === area) close(); });
  document.addEventListener("mousedown", (event) => {
    if (box && !box.contains(event.target)) close();  // a click moves the caret
  }, true);
  window.addEventListener("scroll", (event) => { if (box && event.target !== box) close(); }, true);
}
