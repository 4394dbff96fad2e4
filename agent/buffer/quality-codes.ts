/** How the buffer stores a sample's quality: one small integer (the tables' `quality` columns). */
import type { Quality } from '../model/index.ts';

export const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 0, uncertain: 1, bad: 2 };
/** code → quality; an unknown code reads as bad */
export const QUALITY_NAME: readonly Quality[] = ['good', 'uncertain', 'bad'];
