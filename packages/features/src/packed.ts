/** One field value of an event, as per-entity state holds it. */
export type Scalar = string | number | boolean;
