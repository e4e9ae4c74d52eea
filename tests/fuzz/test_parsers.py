"""Every parser of outside input, fuzzed: for mutated documents (and every corpus file) it
returns a value a database can store or raises its documented error — never another
exception, never a hang (``tests/fuzz/targets.py`` states the property per target).

Bounded for CI: ``FUZZ_EXAMPLES`` (default 40) examples per target, derandomized so a failure
repeats; ``benchmarks/fuzz.py`` is the long run that grows the corpus.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import TARGETS, Crash, Target, corpus_cases

CI = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
              database=None, derandomize=True, phases=[Phase.explicit, Phase.generate,
                                                       Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example, HealthCheck.filter_too_much])


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_mutated_documents_give_a_value_or_the_documented_error(target: Target):
    @CI
    @given(st.data())
    def mutated(data):
        target.run(data.draw(target.inputs(), label=target.name))

    mutated()


CASES = list(corpus_cases())


@pytest.mark.parametrize(("target", "path"), CASES,
                         ids=[f"{t.name}/{p.name}" for t, p in CASES])
def test_every_corpus_file_gives_a_value_or_the_documented_error(target: Target, path):
    target.run(target.decode(path.read_bytes()))


def test_each_target_has_valid_seeds_that_parse_cleanly():
    # The mutations start from these: a seed that already fails would hide the paths behind it.
    for target in TARGETS:
        seeds = [p for p in target.corpus_files() if not p.name.startswith(("crash-", "new-", "regress-"))]
        assert seeds, target.name
        for path in seeds:
            assert target.run(target.decode(path.read_bytes())) is not None, (target.name, path)


def test_a_crash_is_reported_with_its_cause():
    # The property itself must be able to fail: an undocumented exception becomes a Crash.
    def broken(_):
        raise KeyError("order_id")

    target = Target("probe", "bytes", broken, ())
    with pytest.raises(Crash) as caught:
        target.run(b"")
    assert isinstance(caught.value.__cause__, KeyError)


def test_an_unstorable_result_is_a_crash():
    target = Target("probe", "bytes", lambda _: {"sku": "A\x00"}, ())
    with pytest.raises(Crash, match="NUL character"):
        target.run(b"")


def test_a_parser_that_hangs_is_a_crash():
    def spin(_):
        while True:
            pass

    target = Target("probe", "bytes", spin, ())
    with pytest.raises(Crash, match="a hang"):
        target.run(b"", seconds=0.2)
