// @bitskip/layerskip: layer dropout, early-exit losses and early-exit decoding.
export { exponentialDropRates, quadraticDropRates } from './schedules.js';
