// Charging's domain errors, on the codes lib/errors.ts already maps to the wire.
import { DomainError } from '../lib/errors.js';

/** The wallet cannot pay for what was asked (a reservation, a debit below its floor, a payout). */
export class InsufficientFundsError extends DomainError {
  constructor(message = 'insufficient funds', data?: Record<string, unknown>) {
    super('INSUFFICIENT_FUNDS', message, data);
    this.name = 'InsufficientFundsError';
  }
}

/** An agent's price per minute lies outside what the rate plan allows. */
export class PriceNotAcceptedError extends DomainError {
  constructor(message: string, data?: Record<string, unknown>) {
    super('PRICE_NOT_ACCEPTED', message, data);
    this.name = 'PriceNotAcceptedError';
  }
}

/** An idempotency key came back with a different request, or a unique fact (a plan per queue and channel) exists. */
export class ConflictError extends DomainError {
  constructor(message: string, data?: Record<string, unknown>) {
    super('CONFLICT', message, data);
    this.name = 'ConflictError';
  }
}

/** Input that is well-typed but not acceptable (an unbalanced transaction, a currency a wallet does not hold). */
export class ChargingValidationError extends DomainError {
  constructor(message: string, data?: Record<string, unknown>) {
    super('VALIDATION', message, data);
    this.name = 'ChargingValidationError';
  }
}

/** A payment provider's webhook whose signature is missing, wrong or too old. */
export class WebhookSignatureError extends DomainError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
    this.name = 'WebhookSignatureError';
  }
}
