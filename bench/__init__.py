"""`make bench`: the performance figures of issue #3, each beside a baseline measured in the same run."""
