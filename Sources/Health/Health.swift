// Health: checker protocol, checkers, scheduling, hysteresis (being written)
