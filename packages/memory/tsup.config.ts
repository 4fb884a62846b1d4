import { libraryTsup } from '../../tsup.library.js';

export default libraryTsup(['src/index.ts']);
