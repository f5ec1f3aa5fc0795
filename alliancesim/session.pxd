# C signatures for session.py, so Cython compiles it into fast C functions that the
# weekly kernel (_kernel.pyx) calls directly.  The equations live in session.py only.

# The shape constants of session.py, as C values.
cdef double W_TOUCH, W_COMFORT, W_TALK, W_KNOWLEDGE, W_CONNECTION, TALK_ATTENTION_COST, BURNOUT_TOUCH_COST
cdef double BURNOUT_WARMTH_COST, ENACTMENT_QUALITY_COST, OPEN_RUPTURE_QUALITY_COST, TALK_PRESSURE_WEIGHT
cdef double TALK_NEGLECT_WEIGHT, SILENCE_COMFORT, TOPIC_BASE, TOPIC_TALK, BOND_BASE, ENACTMENT_RUPTURE
cdef double INCIDENT_RUPTURE, SEPARATENESS_RATE, PLEASURE_RATE, MERGING_RATE, INTERNALISATION_RATE
cdef double INTAKE_GOAL, INTAKE_TASK, GOAL_RATE, TASK_RATE, KNOWLEDGE_RATE, DROPOUT_ALLIANCE_REF
cdef double DROPOUT_ALLIANCE_SLOPE, EARLY_DROPOUT, DROPOUT_OPEN_RUPTURE, DROPOUT_STALLED, E
cdef long long PHYSICAL, PHYSICAL_EMOTIONAL, OVERWHELMED


cpdef double clip01(double x) noexcept
cpdef double talk_share(double talkativeness, double talk_preference) noexcept
cpdef double talk_fit(double talkativeness, double talk_preference, double safety) noexcept
cpdef double topic_raised_probability(double share_of_talk) noexcept
cpdef double enactment_probability(double intensity, double self_awareness, double rate) noexcept
cpdef double boundary_clarity(double firmness) noexcept
cpdef double merging_openness(double firmness, double rigid_above) noexcept
cpdef double boundary_incident_probability(double firmness, double loose_below, double rate) noexcept
cpdef double session_quality(double skill, double warmth, double burnout, double share_of_talk,
                             double fit_of_talk, double knowledge, double pleasure, double merging,
                             bint enacted, bint open_rupture) noexcept
cpdef double misattunement_probability(double quality, double rate) noexcept
cpdef double notice_probability(double self_awareness, bint confrontation, double share_of_talk) noexcept
cpdef double therapist_repair_probability(double self_awareness, double warmth) noexcept
cpdef double client_repair_probability(double bond, double rate) noexcept
cpdef double bond_after_rupture(double bond, double severity) noexcept
cpdef double bond_after_repair(double bond_before, double bond_now, double completeness, double gain) noexcept
cpdef double trust_rate(double base, double propensity, long long prior_negative, double slowdown) noexcept
cpdef double starting_trust(double propensity, long long prior_negative) noexcept
cpdef double grow_bond(double bond, double quality, double rate) noexcept
cpdef (double, double, double, double) update_themes(double separateness, double pleasure, double merging,
                                                     double internalisation, double quality, double clarity,
                                                     double openness, double warmth, double holding) noexcept
cpdef double grow_knowledge(double knowledge, double bond, double openness) noexcept
cpdef (double, double) update_goal_task(double goal, double task, double need_fit, double knowledge,
                                        double quality, double separateness) noexcept
cpdef double need_fit(long long need, double skill, double warmth, double fixing, bint in_scope) noexcept
cpdef double distress_after_session(double distress, double floor, double alliance, double quality,
                                    double effect, bint in_scope) noexcept
cpdef double pain_after_session(double pain, double skill, double quality, double effect, double fixing,
                                bint enacted, bint in_scope) noexcept
cpdef double drift_between_sessions(double value, double baseline, double floor, double self_care,
                                    long long weeks, double self_care_rate, double relapse_rate) noexcept
cpdef double dropout_probability(double base, double alliance, long long session_no, bint open_rupture,
                                 bint stalled, double travel_ratio) noexcept
cpdef double burnout_step(double burnout, double load, double fixing, double stalled_share, double rate,
                          double recovery) noexcept
