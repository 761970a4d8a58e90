"""The page's own CSS (the sources panel, citation links, timings) and JS (a click on ``[n]``
scrolls to its passage, unfolds an older answer's sources and flashes the passage).

Passed to Gradio's ``launch(css=..., js=...)`` by ``rag.web.app.launch_options``. Does not hold
markup (``rag.web.render``, ``rag.web.layout``).
"""

CSS = """
#sources { max-height: 64vh; overflow-y: auto !important; padding-right: 4px; }
#sources .hint, .timings p { color: var(--body-text-color-subdued); font-size: 0.85em; }
#sources details > summary { cursor: pointer; color: var(--body-text-color-subdued); margin: 6px 0; }
#sources .q { font-weight: 600; margin: 2px 0 6px; }
#sources .story { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px;
                  margin: 8px 0; }
#sources .story-label { font-size: 0.8em; color: var(--body-text-color-subdued); }
#sources .doc + .doc { border-top: 1px dashed var(--border-color-primary); margin-top: 6px;
                       padding-top: 6px; }
#sources .doc-title { font-weight: 600; }
#sources .meta, #sources .also { color: var(--body-text-color-subdued); font-size: 0.82em; }
#sources .src { margin: 6px 0; padding: 4px 8px; border-left: 3px solid var(--color-accent);
                scroll-margin: 60px; }
#sources .src .n { font-weight: 700; color: var(--color-accent); }
#sources .ctx { color: var(--body-text-color-subdued); }
#sources mark { background: #fde68a; color: #1f2937; padding: 0 1px; }
#sources .src.flash { animation: src-flash 1.8s ease-out; }
@keyframes src-flash { from { background: rgba(250, 204, 21, 0.5); } to { background: transparent; } }
a.cite { text-decoration: none; font-weight: 600; font-size: 0.8em; vertical-align: super; }
.timings { min-height: 1.4em; }
#delete { align-self: flex-end; }
"""
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    const folded = target.closest('details');
    if (folded) folded.open = true;
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('flash');
    void target.offsetWidth;
    target.classList.add('flash');
  }, true);
}
"""
