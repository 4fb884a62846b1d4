import { moduleTsup } from '../../tsup.module.js';

export default moduleTsup('mobkit-delivery');
