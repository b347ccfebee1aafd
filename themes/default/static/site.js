/* site-gen default theme: progressive enhancement only (issue 7). Without this script every note is
   still reachable: its number (a label for a checkbox) opens it in place, or in the margin on wide screens.
   This script adds:
   - wide screens: every note laid out in the margin beside its phrase, never overlapping another; notes
     in a crowded stretch show the lines that fit before the next one and open in full on hover, focus
     or their number;
   - Enter on a note's checkbox opens it, Escape closes it (focus goes back to the checkbox);
   - wide screens, keyboard: Tab goes from one note's checkbox to the next; a margin note's links are
     Tab stops only while the note is open (its checkbox checked), not in every crowded note on the way;
   - pointer devices, narrow screens: hovering a phrase or its number shows the note as a popover;
   - topic links: a preview (the topic's summary) on hover or focus, from the page's #topic-previews data;
   - print: a numbered endnote list built from the notes (the stylesheet shows it instead of the notes).
   Nothing here moves the text: margin notes are absolutely positioned and hidden until placed. Right to
   left (dir="rtl") everything is mirrored: the stylesheet uses logical properties, and the popovers
   placed here in pixels start from their phrase's right edge. */
(function () {
  "use strict";

  var root = document.documentElement;
  var wide = window.matchMedia("screen and (min-width: 1200px)");
  var canHover = window.matchMedia("(hover: hover) and (pointer: fine)");
  var NOTE_GAP = 10;        /* px between two margin notes */
  var MIN_LINES = 1;        /* a crowded margin note still shows this many lines */
  var HIDE_DELAY = 250;     /* ms before a popover closes, so the pointer can move onto it */

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }
  function noteByNumber(number) { return document.querySelector('.sidenote[data-note="' + number + '"]'); }
  function checkboxOf(note) { return document.querySelector('.note-state[aria-controls="' + note.id + '"]'); }
  function labelOf(note) { return note.previousElementSibling; }
  function marksOf(note) { return all('mark.annotation[data-note="' + note.getAttribute("data-note") + '"]'); }
  function clamp(value, low, high) { return Math.max(low, Math.min(value, high)); }
  function numberOf(note) { return Number(note.getAttribute("data-note")); }
  function byNumber(a, b) { return numberOf(a) - numberOf(b); }
  function isRtl(element) { return window.getComputedStyle(element).direction === "rtl"; }

  /* -- margin layout (wide screens) ------------------------------------------------------------ */

  /* Tops and shown heights, for notes in number order (text order: a nested phrase's note comes after
     the note of the phrase around it, though it is written first): each note level with its
     phrase, or just below the note above; it is cut short only when the next note's phrase (or
     `bottom`, the end of the free margin) comes before its end, and then shows whole lines, at least
     MIN_LINES. */
  function stack(items, line, bottom) {
    var free = -Infinity;
    items.forEach(function (item, i) {
      var following = items[i + 1];
      item.top = Math.max(item.want, free);
      var room = (following ? following.want : bottom) - NOTE_GAP - item.top;
      item.shown = Math.min(item.full, Math.max(MIN_LINES, Math.floor(room / line)) * line);
      free = item.top + item.shown + NOTE_GAP;
    });
  }

  /* Where the margin beside the text ends: at the footer (its text keeps out of the margin, and
     nothing else follows the text in <main>), or at the end of the text. */
  function marginEnd(body, origin) {
    var footer = document.querySelector(".site-footer");
    var end = footer ? footer.getBoundingClientRect().top - origin : 0;
    return Math.max(end, body.offsetHeight);
  }

  function layoutNotes() {
    var body = document.querySelector(".article-body");
    var notes = body ? all(".sidenote", body) : [];
    if (!notes.length || !wide.matches) { return; }
    body.classList.add("notes-measuring");
    var origin = body.getBoundingClientRect().top;
    var items = notes.sort(byNumber).map(function (note) {
      var anchor = marksOf(note)[0] || labelOf(note);
      return { note: note, want: anchor.getBoundingClientRect().top - origin, full: note.offsetHeight };
    });
    var line = parseFloat(window.getComputedStyle(notes[0]).lineHeight);
    body.classList.remove("notes-measuring");
    stack(items, line, marginEnd(body, origin));
    items.forEach(function (item) {
      var cut = item.shown < item.full - 1;
      item.note.style.setProperty("--top", item.top.toFixed(1) + "px");
      item.note.style.setProperty("--clamp", cut ? item.shown.toFixed(1) + "px" : "none");
      item.note.classList.toggle("is-clamped", cut);
    });
    body.classList.add("notes-placed");
  }

  /* A note open in full (on hover, focus or opened: style.css lifts it, z-index) lies over the notes
     below it; one it covers only in part would show a line cut in half under it (issue: "with Greece,
     and the Tehran talks were …" under note 13). Those are hidden until it closes. */
  function hideCovered() {
    var placed = all(".notes-placed .sidenote").map(function (note) {
      var style = window.getComputedStyle(note);
      return { note: note, rect: note.getBoundingClientRect(), lifted: style.zIndex !== "auto" && style.position === "absolute" };
    });
    var covered = placed.map(function (item) {
      return !item.lifted && placed.some(function (other) {
        return other.lifted && other.rect.top < item.rect.top && other.rect.bottom > item.rect.top + 1;
      });
    });
    placed.forEach(function (item, i) { item.note.classList.toggle("is-covered", covered[i]); });
  }

  var coverFrame = 0;
  function scheduleCovered() {
    window.cancelAnimationFrame(coverFrame);
    coverFrame = window.requestAnimationFrame(hideCovered);
  }

  /* -- Tab stops (wide screens) ------------------------------------------------------------------ */

  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  var KEPT = "data-note-tabindex";  /* the tabindex an element had before this script took it out */

  /* A margin note that is not open keeps its links out of the Tab order (they are still read, and
     the note opens in full when its checkbox has the focus); opening it puts them back. */
  function setTabStops() {
    var inMargin = wide.matches && root.classList.contains("js");
    all(".article-body .sidenote").forEach(function (note) {
      var box = checkboxOf(note);
      var closed = inMargin && !(box && box.checked);
      all(FOCUSABLE, note).forEach(function (element) {
        if (closed && !element.hasAttribute(KEPT)) {
          element.setAttribute(KEPT, element.getAttribute("tabindex") || "");
          element.setAttribute("tabindex", "-1");
        } else if (!closed && element.hasAttribute(KEPT)) {
          var kept = element.getAttribute(KEPT);
          if (kept) { element.setAttribute("tabindex", kept); } else { element.removeAttribute("tabindex"); }
          element.removeAttribute(KEPT);
        }
      });
    });
  }

  /* -- opening and closing (keyboard, tap) ------------------------------------------------------ */

  function isNoteState(element) { return element && element.classList && element.classList.contains("note-state"); }
  function noteOfCheckbox(box) { return document.getElementById(box.getAttribute("aria-controls")); }

  function openCheckbox(target) {
    var note = target.closest && target.closest(".sidenote");
    var box = note ? checkboxOf(note) : (isNoteState(target) ? target : null);
    if (box && box.checked) { return box; }
    return document.querySelector(".note-state:checked");
  }

  function onKeydown(event) {
    if (event.key === "Enter" && isNoteState(event.target)) {
      event.preventDefault();
      event.target.click();
    } else if (event.key === "Escape") {
      if (tip && !tip.hidden) { hidePreview(); return; }  /* first Escape: only the preview */
      var box = openCheckbox(event.target);
      endHover();
      if (box) {
        box.click();
        box.focus();
      }
      /* A margin note shown in full because its checkbox has the focus closes too, until the focus moves. */
      var focused = isNoteState(document.activeElement) ? noteOfCheckbox(document.activeElement) : null;
      if (focused) { focused.classList.add("is-dismissed"); }
    }
  }

  /* A note's checkbox is a 1 px box: the browser scrolls only that pixel into view when it gets the
     focus, leaving its number (and the note the focus opens on a wide screen) below the window. */
  function onFocusIn(event) {
    var box = event.target;
    if (!isNoteState(box)) { return; }
    var note = noteOfCheckbox(box);
    if (note && note.offsetHeight) { note.scrollIntoView({ block: "nearest" }); }
    box.nextElementSibling.scrollIntoView({ block: "nearest" });  /* its number, last: it matters most */
  }

  function onFocusOut(event) {
    if (event.target === tipLink) { hidePreview(); }
    var note = isNoteState(event.target) ? noteOfCheckbox(event.target) : null;
    if (note) { note.classList.remove("is-dismissed"); }
  }

  function onChange(event) {
    var box = event.target;
    if (!isNoteState(box)) { return; }
    if (box.checked) {
      endHover();
      all(".note-state:checked").forEach(function (other) { if (other !== box) { other.checked = false; } });
      /* Narrow screens: a note opened near the bottom of the window would open out of sight. */
      var opened = noteOfCheckbox(box);
      if (opened && !wide.matches) { opened.scrollIntoView({ block: "nearest" }); }
    }
    setTabStops();
    hideCovered();  /* now, not at the next frame: a Tab pressed at once must find the opened note's links */
  }

  /* A tap or click on an annotated phrase works like one on its number (links inside it still work). */
  function onClick(event) {
    var mark = event.target.closest && event.target.closest("mark.annotation");
    var selection = window.getSelection();
    if (!mark || event.target.closest("a") || (selection && !selection.isCollapsed)) { return; }
    var note = noteByNumber(mark.getAttribute("data-note"));
    var box = note && checkboxOf(note);
    if (box) { box.click(); }
  }

  /* -- hover: highlight, and the popover on narrow screens ------------------------------------- */

  var hovered = null;
  var hideTimer = 0;

  function setCurrent(note, on) {
    note.classList.toggle("is-current", on);
    marksOf(note).forEach(function (mark) { mark.classList.toggle("is-current", on); });
  }

  function showPopover(note) {
    var ref = labelOf(note).getBoundingClientRect();
    var viewport = root.clientWidth;
    var width = Math.min(parseFloat(window.getComputedStyle(root).fontSize) * 22, viewport - 16);
    note.style.setProperty("--pop-width", width + "px");
    note.classList.add("is-popover");
    var box = note.offsetParent ? note.offsetParent.getBoundingClientRect() : { top: 0, left: 0 };
    var below = ref.bottom + 4;
    var top = below + note.offsetHeight > window.innerHeight && ref.top - note.offsetHeight - 4 > 0
      ? ref.top - note.offsetHeight - 4 : below;
    note.style.setProperty("--pop-top", (top - box.top) + "px");
    var left = isRtl(note) ? ref.right + 24 - width : ref.left - 24;  /* mirrored right to left */
    note.style.setProperty("--pop-left", (clamp(left, 8, viewport - width - 8) - box.left) + "px");
  }

  function startHover(note) {
    hovered = note;
    setCurrent(note, true);
    var box = checkboxOf(note);
    if (!wide.matches && canHover.matches && box && !box.checked) { showPopover(note); }
  }

  function endHover() {
    window.clearTimeout(hideTimer);
    if (!hovered) { return; }
    setCurrent(hovered, false);
    hovered.classList.remove("is-popover");
    hovered = null;
  }

  function hoveredNote(target) {
    if (!target.closest) { return null; }
    var trigger = target.closest("mark.annotation, .note-ref");
    if (!trigger) { return target.closest(".sidenote"); }
    return trigger.classList.contains("note-ref") ? trigger.nextElementSibling
      : noteByNumber(trigger.getAttribute("data-note"));
  }

  function onNoteHover(event) {
    var note = hoveredNote(event.target);
    if (note) {
      window.clearTimeout(hideTimer);
      if (note !== hovered) { endHover(); startHover(note); }
    } else if (hovered) {
      window.clearTimeout(hideTimer);
      hideTimer = window.setTimeout(endHover, HIDE_DELAY);
    }
  }

  /* -- topic previews ----------------------------------------------------------------------------- */

  var previews = {};
  var tip = null;
  var tipLink = null;
  var tipTimer = 0;

  function loadPreviews() {
    var data = document.getElementById("topic-previews");
    if (data) {
      try { previews = JSON.parse(data.textContent); } catch (error) { previews = {}; }
    }
    tip = document.createElement("div");
    tip.className = "topic-preview";
    tip.id = "topic-preview";
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    tip.appendChild(document.createElement("strong"));
    tip.appendChild(document.createElement("span"));
    /* In <main>, not after it: content outside every landmark is missed by landmark navigation. main is
       not positioned, so the page coordinates showPreview sets still hold. */
    (document.querySelector("main") || document.body).appendChild(tip);
  }

  function previewFor(link) {
    var href = link.getAttribute("href");
    return href ? previews[href.split("#")[0]] : undefined;
  }

  function showPreview(link, preview) {
    window.clearTimeout(tipTimer);
    if (tipLink && tipLink !== link) { tipLink.removeAttribute("aria-describedby"); }
    tipLink = link;
    tip.firstChild.textContent = preview[0];
    tip.lastChild.textContent = preview[1];
    tip.hidden = false;
    link.setAttribute("aria-describedby", tip.id);
    var rect = link.getBoundingClientRect();
    var viewport = root.clientWidth;
    var top = rect.bottom + 6;
    if (top + tip.offsetHeight > window.innerHeight && rect.top - tip.offsetHeight - 6 > 0) {
      top = rect.top - tip.offsetHeight - 6;
    }
    var left = isRtl(link) ? rect.right - tip.offsetWidth : rect.left;
    tip.style.left = (window.scrollX + clamp(left, 8, viewport - tip.offsetWidth - 8)) + "px";
    tip.style.top = (window.scrollY + top) + "px";
  }

  function hidePreview() {
    window.clearTimeout(tipTimer);
    if (tipLink) { tipLink.removeAttribute("aria-describedby"); }
    tipLink = null;
    if (tip) { tip.hidden = true; }
  }

  function onPreviewIn(event) {
    var link = event.target.closest && event.target.closest("a[href]");
    var preview = link && previewFor(link);
    if (preview) {
      showPreview(link, preview);
    } else if (tipLink && !(event.target.closest && event.target.closest(".topic-preview"))) {
      window.clearTimeout(tipTimer);
      tipTimer = window.setTimeout(hidePreview, event.type === "focusin" ? 0 : HIDE_DELAY);
    } else {
      window.clearTimeout(tipTimer);
    }
  }

  /* -- print: endnotes ------------------------------------------------------------------------------ */

  function buildEndnotes() {
    var article = document.querySelector(".article");
    var notes = article ? all(".article-body .sidenote", article).sort(byNumber) : [];  /* nested: see stack */
    if (!notes.length) { return; }
    var section = document.createElement("section");
    section.className = "endnotes";
    section.hidden = true;
    var heading = document.createElement("h2");
    heading.textContent = "Notes";
    var list = document.createElement("ol");
    notes.forEach(function (note) { list.appendChild(endnote(note)); });
    section.appendChild(heading);
    section.appendChild(list);
    article.appendChild(section);
  }

  function endnote(note) {
    var item = document.createElement("li");
    item.value = numberOf(note);
    var quote = document.createElement("span");
    quote.className = "endnote-quote";
    quote.textContent = "“" + marksOf(note).map(function (m) { return m.textContent; }).join("") + "” ";
    item.appendChild(quote);
    var copy = note.cloneNode(true);
    all("[id]", copy).forEach(function (element) { element.removeAttribute("id"); });
    var number = copy.querySelector(".note-number");
    if (number) { number.parentNode.removeChild(number); }
    while (copy.firstChild) { item.appendChild(copy.firstChild); }
    return item;
  }

  /* -- start ------------------------------------------------------------------------------------------- */

  function relayout() {
    endHover();
    hidePreview();
    layoutNotes();
    setTabStops();
    hideCovered();
  }

  var frame = 0;
  function scheduleLayout() {
    window.cancelAnimationFrame(frame);
    frame = window.requestAnimationFrame(relayout);
  }

  function start() {
    try {
      layoutNotes();
    } catch (error) {
      root.classList.remove("js"); /* back to the no-script layout rather than hidden notes */
      throw error;
    }
    loadPreviews();
    buildEndnotes();  /* before setTabStops: the endnotes copy the notes as written */
    setTabStops();
    document.addEventListener("keydown", onKeydown);
    document.addEventListener("change", onChange);
    document.addEventListener("click", onClick);
    document.addEventListener("mouseover", onNoteHover);
    document.addEventListener("mouseover", onPreviewIn);
    document.addEventListener("focusin", onPreviewIn);
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("focusout", onFocusOut);
    ["mouseover", "mouseout", "focusin", "focusout", "change", "keydown"].forEach(function (type) {
      document.addEventListener(type, scheduleCovered);
    });
    window.addEventListener("resize", scheduleLayout);
    /* Images above a note change where its phrase is: place again when one loads. */
    document.addEventListener("load", function (event) {
      if (event.target.tagName === "IMG") { scheduleLayout(); }
    }, true);
  }

  /* Loaded in <head> without defer: mark the page at once (the stylesheet lays out for the script
     before the first paint), and start when the document is parsed. */
  root.classList.add("js");
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
