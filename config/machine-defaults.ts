/** The defaults of a machine, for configured machines (the schema) and machines seen only in data (the Plant). */
export const MACHINE_DEFAULTS = {
  /** the line of a machine that names none */
  line: 'default',
  /** a held value (power, state) ends after this long without a new sample */
  maxHoldS: 3600,
} as const;
