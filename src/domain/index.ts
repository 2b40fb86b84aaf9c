export * from './errors';
export * from './events';
export * from './money';
export * from './notification';
export * from './order';
export * from './payment';
export * from './refund';
export * from './settlement';
