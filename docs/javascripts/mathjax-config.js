// MathJax 3, served from this site (assets/mathjax/, copied from the django-static-mathjax
// package at build time): no CDN, the math renders offline. It typesets the Markdown pages'
// math (pymdownx.arithmatex: \( \) and \[ \]) and the notebooks' Markdown cells ($ and $$);
// code (pre, code) is never searched, so a dollar sign in a code cell is left alone.
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code", "annotation",
                   "annotation-xml"],
  },
};

if (typeof document$ !== "undefined") {  // Material's page-change stream (instant navigation)
  document$.subscribe(() => {
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.typesetPromise();
    }
  });
}
