"""An empty module: the zygote imports it in three checks at start to measure what
any import costs in memory (subtracted from every check's figure)."""

X = 1
