/* Render the math that pymdownx.arithmatex (generic: true) leaves in the page:
 *   inline  <span class="arithmatex">\( … \)</span>
 *   display <div class="arithmatex">\[ … \]</div>
 * with the KaTeX copy served from assets/katex (no CDN).
 *
 * Only .arithmatex elements are searched, so a `$` or `\(` in ordinary text or in code blocks is
 * never touched. Material's instant navigation swaps the page content without reloading scripts;
 * its `document$` observable emits on the first load and after every such swap.
 */
(function () {
  "use strict";

  var options = {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false, // a bad formula is shown in red instead of breaking the page
    // Chinese text inside math is intended (e.g. \text{残差}); keep other strict warnings.
    strict: function (errorCode) {
      return errorCode === "unicodeTextInMathMode" ? "ignore" : "warn";
    },
  };

  function render(root) {
    var nodes = (root || document).querySelectorAll(".arithmatex");
    for (var i = 0; i < nodes.length; i++) {
      renderMathInElement(nodes[i], options);
    }
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function () {
      render(document);
    });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      render(document);
    });
  } else {
    render(document);
  }
})();
