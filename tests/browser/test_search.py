"""Search: a term typed into Material's search box finds the right page first.

Chinese terms, their synonyms, English words and code names. Material's worker searches a Chinese
query as its longest proper prefix that is a word of the index (步幅 as 步*); tools/website/build.py
post-processes the index so that a glossary term is searched whole (tests/test_site.py tests that
part without a browser). A term whose expected page has not landed yet is skipped, and the skip
message says so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .conftest import SITE, new_context

pytestmark = pytest.mark.browser

# term → the page a reader means (URL path under the site root); ids are ASCII for the test names
EXPECTED = {
    # Llama 3 (issue 22): its terms, and two names a reader types in English
    "旋转位置编码": "papers/llama/",
    "旋转位置嵌入": "papers/llama/",  # synonym
    "分组查询注意力": "papers/llama/",
    "文档掩码": "papers/llama/",
    "RMSNorm": "papers/llama/",
    "SwiGLU": "papers/llama/",
    "梯度消失": "papers/rnn/",  # the RNN page: vanishing gradients through time, why LSTM
    "残差": "papers/resnet/",
    "注意力": "papers/attention/",
    "对比学习": "papers/contrastive/",
    # Backpropagation is no paper's subject; the RNN page derives backpropagation through time
    # (BPTT), the one place where the site works it out step by step.
    "反向传播": "papers/rnn/",
    # one core term per paper (issue 11): the page that explains it, ahead of the glossary
    "局部响应归一化": "papers/alexnet/",
    "步幅": "papers/alexnet/",  # the glossary's page for the term
    "步长": "papers/alexnet/",  # synonym: only the glossary and the first-use gloss carry it
    "感受野": "papers/vgg/",
    "遗忘门": "papers/rnn/",
    "负采样": "papers/embedding/",
    "标签平滑": "papers/transformer/",
    "掩码语言模型": "papers/bert/",
    "图块": "papers/vit/",
    "图像块": "papers/vit/",  # synonym
    "掩码自编码器": "papers/mae/",
    "动量编码器": "papers/contrastive/",
    "零样本": "papers/clip/",
    "扩散先验": "papers/dalle2/",
    "模式崩溃": "papers/gan/",
    "模式坍塌": "papers/gan/",  # synonym
    "两样本检验": "papers/gan/",
    "二样本检验": "papers/gan/",  # synonym
    "消息传递": "papers/gnn/",
    "移动四面体": "papers/dmtet/",
    "三平面": "papers/get3d/",
    # GPT, GPT-2 and GPT-3 (issue 22)
    "上下文学习": "papers/gpt/",
    "语境学习": "papers/gpt/",  # synonym
    "少样本": "papers/gpt/",
    "小样本": "papers/gpt/",  # synonym
    "稀疏注意力": "papers/gpt/",
    "仅解码器模型": "papers/gpt/",
    # Swin Transformer (issue 23)
    "窗口注意力": "papers/swin/",
    "移位窗口": "papers/swin/",
    "相对位置偏置": "papers/swin/",
    "图块合并": "papers/swin/",
    # DETR (issue 23)
    "二分图匹配": "papers/detr/",
    "匈牙利算法": "papers/detr/",
    "目标查询": "papers/detr/",
    "集合预测": "papers/detr/",
}


def first_results(browser, server, term, n=5):
    """The pages of the first ``n`` search results for ``term`` (relative URL paths)."""
    ctx, foreign = new_context(browser, server)
    try:
        page = ctx.new_page()
        page.goto(server, wait_until="load")
        box = page.locator("input.md-search__input")
        box.click()
        box.fill(term)
        items = page.locator(".md-search-result__list > li.md-search-result__item")
        items.first.wait_for(state="attached", timeout=30_000)
        hrefs = page.eval_on_selector_all(
            ".md-search-result__list > li.md-search-result__item > a",
            "els => els.map(a => a.href)",
        )
    finally:
        ctx.close()
    assert not foreign, f"search requested other hosts: {foreign}"
    pages = []
    for h in hrefs:  # result links carry ?h=<term> (highlight) and #section
        path = urlsplit(h).path.removeprefix(urlsplit(server).path)
        if path not in pages:
            pages.append(path)
    return pages[:n]


IDS = [
    "rope", "rope-synonym", "gqa", "document-mask", "rmsnorm", "swiglu",
    "vanishing-gradient", "residual", "attention", "contrastive-learning", "backprop",
    "lrn", "stride", "stride-synonym", "receptive-field", "forget-gate", "negative-sampling",
    "label-smoothing", "mlm", "patch", "patch-synonym", "mae", "momentum-encoder", "zero-shot",
    "diffusion-prior", "mode-collapse", "mode-collapse-synonym", "two-sample-test",
    "two-sample-test-synonym", "message-passing", "marching-tetrahedra", "triplane",
    "in-context-learning", "in-context-learning-synonym", "few-shot", "few-shot-synonym",
    "sparse-attention", "decoder-only",
    "window-attention", "shifted-windows", "relative-position-bias", "patch-merging",
    "bipartite-matching", "hungarian-algorithm", "object-queries", "set-prediction",
]  # fmt: skip


# English and code: the English stemmer is off (mkdocs.yml, `pipeline: []`), or a whole word whose
# stem is shorter would find nothing (InfoNCE) or miss its page (Transformer).
EXPECTED_LATIN = {
    "ResNet": "papers/resnet/",
    "word2vec": "papers/embedding/",
    "InfoNCE": "papers/contrastive/",
    "QuickGELU": "papers/clip/",
    "nn.Embedding": "papers/embedding/",
    "GPT": "papers/gpt/",
    "Swin": "papers/swin/",
    "DETR": "papers/detr/",
    # not "GIoU": the camelCase split of the separator cuts it (and the query) into G / Io / U,
    # which every page with a word starting in g matches: not a search case
}
LATIN_IDS = [
    "resnet", "word2vec", "infonce", "quickgelu", "nn-embedding", "gpt", "swin", "detr",
]  # fmt: skip
CASES = [
    *(pytest.param(term, id=id_) for term, id_ in zip(EXPECTED, IDS, strict=True)),
    *(pytest.param(term, id=id_) for term, id_ in zip(EXPECTED_LATIN, LATIN_IDS, strict=True)),
]


@pytest.mark.parametrize("term", CASES)
def test_search_finds_the_right_page_first(browser, server, term):
    want = {**EXPECTED, **EXPECTED_LATIN}[term]
    if not (SITE / want / "index.html").is_file():
        pytest.skip(f"search {term!r}: expected page {want} has not landed yet")
    got = first_results(browser, server, term)
    assert got, f"search {term!r}: no result"
    assert got[0] == want, f"search {term!r}: first result {got[0]}, expected {want}; top: {got}"
