"""What the demo's scripted candidate says: well-written sample answers, spoken by espeak-ng.

These are sample media, clearly labelled as such wherever the demo runs: no real person.
"""

from __future__ import annotations

SAMPLE_ANSWERS = {
    # the practice question of every bundled interview asks about free time
    "practice": (
        "In my free time I like to cook for my family. For example, on Sundays I try a new "
        "recipe. I enjoy it because I can plan it, and then everybody sits down together."
    ),
    # demo
    "introduce-yourself": (
        "Hello, my name is Asha and I am a final year commerce student. For example, last "
        "year I organised our college book fair with a team of eight people. I am good at "
        "planning: I make a list, share the tasks, and check in every day."
    ),
    "something-you-learned-recently": (
        "Recently I learned to make simple spreadsheets with formulas. At first I did not "
        "understand them, so I watched short videos and practised every evening. I learned "
        "that I learn best with a little practice every day. These days they help "
        "with the accounts of our family shop."
    ),
    # the demo's follow-up to the answer above, which names no next step
    "something-you-learned-recently.probe": (
        "Next I want to learn charts. My next step is to take a short online course, and "
        "next time I would ask a friend to check my formulas earlier."
    ),
    "what-was-easy-what-was-unclear": (
        "One thing that felt easy was the countdown, because I always knew how much time was "
        "left. One thing that could be clearer is the review screen: I was not sure at first "
        "which take would be sent."
    ),
}

GENERIC_ANSWER = (
    "Let me give an example from college. The situation was that our team project was late "
    "and two members disagreed about the plan. My task was to help us finish on time. I "
    "decided to listen to both of them first, then I suggested we split the work by strengths "
    "and meet every morning for ten minutes. As a result we finished two days early, and I "
    "learned to ask questions before I propose a solution."
)


def sample_answer(question_id: str) -> str:
    """The sample answer for a question (a general behavioural answer if it has none)."""
    return SAMPLE_ANSWERS.get(question_id, GENERIC_ANSWER)
