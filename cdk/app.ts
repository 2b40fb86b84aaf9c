import { createPaymentsApp } from './payments-app';

createPaymentsApp();
