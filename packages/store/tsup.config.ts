import { libraryTsup } from '../../tsup.library.js';

export default libraryTsup(['src/index.ts', 'src/postgres/index.ts', 'src/testing/index.ts']);
