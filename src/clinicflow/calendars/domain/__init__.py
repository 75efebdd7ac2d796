"""Pure values and rules of the busy-time store: intervals, snapshots and deltas, merging."""
