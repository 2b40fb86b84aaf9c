import * as z from 'zod/mini';
import { en } from 'zod/locales';

// Our schemas use zod/mini, not classic zod: a bundle then holds only the checks they use (classic
// attaches every method to every schema, about 70 KB a function). Mini ships no messages: this
// gives the English ones classic gives, for 400 details and logged parse failures. Imported for
// its effect by every module that defines schemas.
z.config(en());
