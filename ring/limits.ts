/** Part powers a ring may have: 16 partitions up to 16M. */
export const MIN_PART_POWER = 4
export const MAX_PART_POWER = 24

/** Most replicas: slots are encoded as replica << partPower | partition in 31 bits. */
export const MAX_REPLICAS = 31

/** Device id meaning "no device": an unassigned replica slot. */
export const NONE = 0xffff

/** Largest usable device id (assignments are Uint16Array and NONE is reserved). */
export const MAX_DEVICE_ID = NONE - 1
