/*
 * A stand-in for `Worker` on pages opened from disk (file://), written for this site.
 *
 * Why: Material's search runs lunr in a web Worker (`new Worker(".../search.js")`). Browsers
 * refuse to start a Worker from a file:// page (Chromium: "SecurityError ... cannot be accessed
 * from origin 'null'"), so the search box stays hidden when the site is opened as a file.
 * Material's `offline` plugin answers this by loading a shim from https://unpkg.com, which
 * needs the internet. This file is our own shim, served by the site itself. mkdocs.yml lists it
 * under `extra.polyfills`; because its name contains "iframe-worker", the offline plugin does
 * not add the unpkg address.
 *
 * How: the worker's script runs in a hidden <iframe> instead of a worker thread.
 *   - The iframe has no `src`, so it holds an empty about:blank document that shares this
 *     page's origin: this page can reach into it (`contentWindow`), even from file://.
 *   - A <base href> set to the worker's URL makes relative URLs inside the script (and in
 *     `importScripts`) resolve as they would in a Worker, against the script's own address.
 *   - A classic <script src="worker url"> runs the worker's code there. Script tags, unlike
 *     Workers and fetch(), may load from file://.
 *   - Page -> worker: `worker.postMessage(data)` clones `data` and, in a later task (as a real
 *     Worker does, asynchronously), fires a "message" event on the iframe's window, where the
 *     worker's code listens with the global `addEventListener("message", ...)` / `onmessage`.
 *     Messages posted before the script has run are queued until it has.
 *   - Worker -> page: the worker calls the global `postMessage(data)`; we replace the iframe
 *     window's `postMessage` by a function that clones `data` and fires a "message" event on
 *     the FileWorker object, which Material listens to (`addEventListener("message")`).
 *   - Errors (the script fails to load, or throws) fire an "error" event on the FileWorker
 *     (`onerror` too; Chromium hides a file:// script's message: "Script error.").
 *     `terminate()` (or `close()` inside the worker) removes the iframe.
 *   - `importScripts(...)` cannot block inside a page, so here it returns a Promise that
 *     resolves once the scripts have run in order. Material's search awaits it (it only calls
 *     it for non-English stemmers); code that relies on it being synchronous would not work.
 *
 * Limits: the worker's code sees the iframe's `window`, `document` and `location`
 * (about:blank) where a Worker has none or its script's URL; classic scripts only
 * (`{type: "module"}` is refused with an error); everything runs on the page's thread (a long
 * computation freezes the page; indexing this site's search takes a moment); transferable
 * objects are copied, not moved.
 *
 * It changes nothing on http(s) pages: there the browser's own Worker is kept.
 */
(function () {
  "use strict";

  if (location.protocol !== "file:") {
    return; // served over http(s): the native Worker works, leave it alone
  }

  // The browser's structured clone, as postMessage does; an old browser without it passes
  // the object itself (the worker then shares it with the page).
  function clone(data) {
    return typeof structuredClone === "function" ? structuredClone(data) : data;
  }

  // Run `fn` in a later task, as message delivery between a page and a Worker does.
  function later(fn) {
    setTimeout(fn, 0);
  }

  class FileWorker extends EventTarget {
    constructor(url, options) {
      super();
      if (options && options.type === "module") {
        throw new TypeError("iframe-worker-file.js: module workers are not supported from file://");
      }
      this.onmessage = null;
      this.onmessageerror = null;
      this.onerror = null;
      this._url = new URL(String(url), document.baseURI).href;
      this._ready = false;  // true once the worker's script has run
      this._queue = [];     // messages posted before that
      this._frame = document.createElement("iframe");
      this._frame.hidden = true;
      this._frame.setAttribute("aria-hidden", "true");
      this._frame.tabIndex = -1;
      (document.body || document.documentElement).appendChild(this._frame);
      this._setUpFrame();
    }

    _setUpFrame() {
      const win = this._frame.contentWindow;
      const doc = this._frame.contentDocument;
      const worker = this;

      const base = doc.createElement("base");
      base.href = this._url;
      doc.head.appendChild(base);

      // The worker's global postMessage sends to the page: deliver it to this object.
      win.postMessage = function (data) {
        const copy = clone(data);
        later(() => worker._emit("message", { data: copy }));
      };
      // `close()` inside a worker ends it.
      win.close = () => this.terminate();
      // importScripts: load each URL in order as a <script> in the frame; see the header.
      win.importScripts = function (...urls) {
        return urls.reduce(
          (done, src) => done.then(() => new Promise((resolve, reject) => {
            const script = doc.createElement("script");
            script.src = new URL(String(src), worker._url).href;
            script.onload = () => resolve();
            script.onerror = () => reject(new Error(`importScripts: cannot load ${script.src}`));
            doc.head.appendChild(script);
          })),
          Promise.resolve(),
        );
      };
      // An exception thrown by the worker's code becomes an "error" event on this object.
      win.addEventListener("error", (event) => {
        this._emit("error", { message: event.message, filename: event.filename,
                              lineno: event.lineno, colno: event.colno, error: event.error });
      });

      const script = doc.createElement("script");
      script.src = this._url;
      script.onload = () => {
        this._ready = true;
        const queued = this._queue;
        this._queue = [];
        queued.forEach((data) => this._deliver(data));
      };
      script.onerror = () => {
        this._emit("error", { message: `iframe-worker-file.js: cannot load ${this._url}` });
      };
      doc.head.appendChild(script);
    }

    // Fire an event of `type` on this object; its `on<type>` property is called too, as a
    // Worker's handler properties are.
    _emit(type, init) {
      if (!this._frame) {
        return; // terminated: nothing more arrives
      }
      const event = type === "error" ? new ErrorEvent("error", init) : new MessageEvent(type, init);
      const handler = this["on" + type];
      if (typeof handler === "function") {
        handler.call(this, event);
      }
      this.dispatchEvent(event);
    }

    // Hand `data` (already cloned) to the worker's code: a "message" event on the frame's
    // window, built with that window's MessageEvent so the code sees its own kind of event.
    _deliver(data) {
      later(() => {
        if (this._frame) {
          const win = this._frame.contentWindow;
          win.dispatchEvent(new win.MessageEvent("message", { data: data }));
        }
      });
    }

    postMessage(data) {
      if (!this._frame) {
        return;
      }
      const copy = clone(data);
      if (this._ready) {
        this._deliver(copy);
      } else {
        this._queue.push(copy);
      }
    }

    terminate() {
      if (this._frame) {
        this._frame.remove();
        this._frame = null;
        this._queue = [];
      }
    }
  }

  // Replace the global only here, on file://; keep the native one reachable for reference.
  FileWorker.NativeWorker = window.Worker;
  window.Worker = FileWorker;
})();
