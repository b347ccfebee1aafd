/* site-gen search box: offline full-text search over articles, topics and notes.

   The first time the box is used, this loads MiniSearch (static/vendor/minisearch.js), the
   site's search-index.js, and the index parts it names (search-index/N.js, loaded together) with
   plain <script> elements, so it works on any static host and from disk (file:// pages may load
   scripts, not fetch() files). Results form a listbox: arrow keys
   move, Enter opens, Escape closes; "/" anywhere jumps to the box. Text from the index is put in
   the page with textContent only, never as HTML. */
(function () {
  "use strict";

  var MAX_RESULTS = 10;
  var CONTEXT = 70; /* characters of the passage shown before the first match */
  var KINDS = { article: "Article", topic: "Topic", note: "Note", draft: "Draft" };
  var KIND_BOOST = { topic: 3, article: 2, draft: 2, note: 1 };
  /* Scripts written without spaces between words (Chinese, Japanese). MiniSearch's tokenizer splits
     at spaces and punctuation only, so a whole sentence was one "word" and 首相 was not found in
     日本の首相は: their runs are indexed and searched as overlapping pairs of characters instead
     (as Lucene's CJK analyzer does), which needs no dictionary and finds any word of two or more. */
  var UNSPACED = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}";
  var HAS_UNSPACED = new RegExp("[" + UNSPACED + "]", "u");
  var UNSPACED_RUNS = new RegExp("([" + UNSPACED + "]+)|([^" + UNSPACED + "]+)", "gu");

  var box = document.querySelector(".site-search");
  if (!box || !window.Promise) { return; }
  var input = box.querySelector(".site-search-input");
  var list = box.querySelector(".site-search-results");
  var status = box.querySelector(".site-search-status");
  var root = box.getAttribute("data-root") || "";
  var loading = null;
  var engine = null;
  var results = [];
  var active = -1;
  var timer = null;
  box.hidden = false;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () { resolve(); };
      script.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(script);
    });
  }

  function ready() {
    if (!loading) {
      loading = loadScript(box.getAttribute("data-library"))
        .then(function () { return loadScript(box.getAttribute("data-index")); })
        .then(function () {
          return Promise.all(window.siteGenSearchIndex.parts.map(function (part) { return loadScript(root + part); }));
        })
        .then(function () {
          engine = new window.MiniSearch({
            fields: ["title", "keywords", "text"],
            tokenize: tokenize,
            storeFields: ["kind", "title", "context", "url", "text"],
            searchOptions: {
              boost: { title: 3, keywords: 2 },
              prefix: true,
              fuzzy: function (term) { return term.length > 4 ? 0.2 : false; },
              combineWith: "AND",
              /* a topic page is the best answer to a name, then the articles, then single notes */
              boostDocument: function (id, term, stored) { return KIND_BOOST[stored && stored.kind] || 1; }
            }
          });
          var parts = window.siteGenSearchParts || {};
          window.siteGenSearchIndex.parts.forEach(function (part, number) { engine.addAll(parts[number] || []); });
          return engine;
        });
      loading.catch(function () {
        status.textContent = "Search is not available: its files did not load.";
      });
    }
    return loading;
  }

  /* MiniSearch's words, with each run of an unspaced script cut into overlapping pairs and its last
     character (a run of one stays one); used for the index and for queries alike. */
  function tokenize(text) {
    var words = window.MiniSearch.getDefault("tokenize")(text);
    if (!HAS_UNSPACED.test(text)) { return words; }
    var tokens = [];
    words.forEach(function (word) {
      word.replace(UNSPACED_RUNS, function (match, run, other) {
        if (other) { tokens.push(other); return match; }
        var chars = Array.from(run);
        for (var i = 0; i + 1 < chars.length; i++) { tokens.push(chars[i] + chars[i + 1]); }
        tokens.push(chars[chars.length - 1]);  /* so every character starts a token: 京 is found in 東京 */
        return match;
      });
    });
    return tokens;
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function termPattern(terms, flags) {
    var alternatives = terms.map(escapeRegExp).sort(function (a, b) { return b.length - a.length; });
    /* a word starts after a non-letter; a pair of an unspaced script may start anywhere */
    return new RegExp("(^|[^\\p{L}\\p{N}]|(?=[" + UNSPACED + "]))(" + alternatives.join("|") + ")", flags);
  }

  /* The passage around the first matched word, with every matched word marked. */
  function passage(text, terms) {
    var node = document.createElement("span");
    node.className = "site-search-passage";
    var first = terms.length ? text.search(termPattern(terms, "iu")) : -1;
    var start = first > CONTEXT ? passageStart(text, first - CONTEXT) : 0;
    var end = passageEnd(text, start + CONTEXT * 3);
    var excerpt = text.slice(start, end).replace(/\s+/g, " ");
    if (start > 0) { node.append("… "); }
    var pattern = termPattern(terms.length ? terms : ["\u0000"], "giu");
    var last = 0;
    excerpt.replace(pattern, function (match, before, word, offset) {
      var at = offset + before.length;
      node.append(excerpt.slice(last, at));
      var mark = document.createElement("mark");
      mark.textContent = word;
      node.append(mark);
      last = at + word.length;
      return match;
    });
    node.append(excerpt.slice(last));
    if (end < text.length) { node.append(" …"); }
    return node;
  }

  /* Where the passage starts: after the space before `at`, or at `at` in a text without spaces
     near it (Chinese, Japanese), never inside a character written as two UTF-16 units. */
  function passageStart(text, at) {
    var space = text.lastIndexOf(" ", at);
    if (space >= at - CONTEXT) { return space + 1; }
    return /[\uDC00-\uDFFF]/.test(text.charAt(at)) ? at + 1 : at;
  }

  /* Where it ends: before the space after its last whole word ("of th …" read as a typo), or at
     `at` in a text without spaces near it, never between the two UTF-16 units of one character. */
  function passageEnd(text, at) {
    if (at >= text.length) { return text.length; }
    if (/\s/.test(text.charAt(at))) { return at; }
    var space = text.lastIndexOf(" ", at);
    if (space >= at - CONTEXT / 2) { return space; }
    return /[\uDC00-\uDFFF]/.test(text.charAt(at)) ? at - 1 : at;
  }

  /* The words to mark: those found, except that a pair found by its first character (a query of
     one Chinese or Japanese character) marks that character, not its neighbour too. */
  function shownTerms(result) {
    return result.terms.map(function (term) {
      if (!HAS_UNSPACED.test(term)) { return term; }
      var single = (result.queryTerms || []).filter(function (q) { return Array.from(q).length === 1 && term.indexOf(q) === 0; });
      return single.length ? single[0] : term;
    });
  }

  function span(className, text) {
    var node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  /* An option is the result's link itself, its <li> only a wrapper (role="none"): a link inside an
     option is an interactive element inside another (axe: nested-interactive), while a link that is
     the option still opens in a new tab on a Ctrl, Cmd or middle click. */
  function option(result, index) {
    var item = document.createElement("li");
    item.setAttribute("role", "none");
    var link = document.createElement("a");
    link.id = "site-search-result-" + index;
    link.className = "site-search-result";
    link.setAttribute("role", "option");
    link.setAttribute("aria-selected", "false");
    link.href = root + result.url;
    link.tabIndex = -1;
    link.append(span("site-search-kind", KINDS[result.kind] || result.kind), " ",
                span("site-search-title", result.title));
    if (result.context) { link.append(" ", span("site-search-context", result.context)); }
    link.append(passage(result.text, shownTerms(result)));
    link.addEventListener("mousemove", function () { select(index); });
    item.appendChild(link);
    return item;
  }

  function show(query) {
    results = tooShort(query) ? [] : engine.search(query).slice(0, MAX_RESULTS);
    list.textContent = "";
    results.forEach(function (result, index) { list.appendChild(option(result, index)); });
    active = -1;
    input.removeAttribute("aria-activedescendant");
    list.hidden = results.length === 0;
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    if (tooShort(query)) {
      status.textContent = "";
    } else {
      status.textContent = results.length
        ? results.length + (results.length === 1 ? " result" : " results") + "; arrow keys to choose, Enter to open"
        : "No results for “" + query + "”";
    }
  }

  /* One letter finds too much to be worth showing; one Chinese or Japanese character is a word. */
  function tooShort(query) {
    return query.length < 2 && !HAS_UNSPACED.test(query);
  }

  function select(index) {
    var items = list.querySelectorAll(".site-search-result");
    if (!items.length) { return; }
    active = (index + items.length) % items.length;
    items.forEach(function (item, i) { item.setAttribute("aria-selected", i === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", items[active].id);
    if (items[active].scrollIntoView) { items[active].scrollIntoView({ block: "nearest" }); }
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function search() {
    var query = input.value.trim();
    if (!engine && !tooShort(query)) { status.textContent = "Loading the search index…"; }
    ready().then(function () { show(input.value.trim()); });
  }

  input.addEventListener("focus", function () { ready(); });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 40);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden && results.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
      select(active + (event.key === "ArrowDown" ? 1 : (active < 0 ? 0 : -1)));
    } else if (event.key === "Enter") {
      var chosen = results[active >= 0 ? active : 0];
      if (chosen) {
        event.preventDefault();
        window.location.href = root + chosen.url;
      }
    }
  });
  /* Escape anywhere in the box (the focus may be on a result the pointer pressed): the first only
     closes the list and puts the focus back in the box; a search box clears on the next. */
  box.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    event.stopPropagation();
    if (!list.hidden) {
      event.preventDefault();
      close();
      input.focus();
    } else if (event.target === input) {
      input.value = "";
      show("");
    }
  });
  /* Tab out of the box closes the list: left open, it would cover what has the focus next. */
  box.addEventListener("focusout", function (event) {
    if (!box.contains(event.relatedTarget)) { close(); }
  });
  list.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a");
    if (link) { close(); }
  });
  document.addEventListener("click", function (event) {
    if (!box.contains(event.target)) { close(); }
  });
  /* Whether a key pressed in `target` types text (a checkbox, such as a note's, does not). */
  function isTextEntry(target) {
    if (!target) { return false; }
    if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName)) { return true; }
    return target.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|image|range|color|file)$/i.test(target.type);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && !isTextEntry(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
})();
