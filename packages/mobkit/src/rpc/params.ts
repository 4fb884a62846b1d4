import { z } from 'zod';

/** A string param that must not be blank after trimming; the message names the field. */
export const nonBlank = (field: string) =>
  z
    .string()
    .trim()
    .min(1, { message: `${field} must not be blank` });
