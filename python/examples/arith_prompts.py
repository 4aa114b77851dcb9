"""The arithmetic task of configs/rlvr_arithmetic.toml in Python, for the TRL comparison.

Problems are drawn as rlpp's ArithmeticTask draws them (src/env/text/arithmetic.cpp): an operand
has d digits with d uniform in [min_digits, max_digits], then is uniform over the d-digit numbers
(0..9 for one digit); the prompt is "a+b=" after the tokenizer's BOS (data.add_bos = true). The
random stream is Python's, so the problems are the same distribution, not the same draws.

The reward is rlpp's exact-match grade (src/env/text/task.cpp): 1 when the response's last
non-empty line, trimmed of spaces, tabs and carriage returns, equals the answer, else 0.
"""
import random

BOS = "<bos>"


def draw_operand(rng, min_digits, max_digits):
    digits = rng.randint(min_digits, max_digits)
    lo = 10 ** (digits - 1)
    hi = lo * 10 - 1
    if digits == 1:
        lo = 0
    return rng.randint(lo, hi)


def problems(n, seed, min_digits=1, max_digits=2):
    """n (prompt, answer) pairs of '+' problems; prompt includes BOS."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = draw_operand(rng, min_digits, max_digits)
        b = draw_operand(rng, min_digits, max_digits)
        out.append((f"{BOS}{a}+{b}=", str(a + b)))
    return out


def final_answer(response):
    """The last non-empty line of `response`, trimmed of spaces, tabs and carriage returns."""
    for line in reversed(response.split("\n")):
        line = line.strip(" \t\r")
        if line:
            return line
    return ""


def grade(response, answer):
    return 1.0 if final_answer(response) == answer else 0.0


if __name__ == "__main__":
    # Hand checks of the grader (rlpp's tests/env/text cases): the last non-empty line counts.
    assert grade("7+5+0=12\n3+8+1=12\n122", "122") == 1.0
    assert grade("122\n\n  \n", "122") == 1.0
    assert grade(" 122 \r", "122") == 1.0
    assert grade("122\n12", "122") == 0.0
    assert grade("", "0") == 0.0
    p = problems(1000, seed=1)
    assert all(pr.startswith(BOS) and pr.endswith("=") for pr, _ in p)
    assert all(0 <= int(x) <= 99 for pr, _ in p for x in pr[len(BOS):-1].split("+"))
    print("arith_prompts: checks pass;", p[:3])
