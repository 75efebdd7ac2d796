"""Pure parts of the schedule proposal: the week's problem, the greedy rule, CP-SAT."""
