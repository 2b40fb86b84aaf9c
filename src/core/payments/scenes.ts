import { DomainError } from '../../domain/errors';
import type { PaymentMethod } from '../../domain/payment';
import type { Payer, PayerField, PaymentScene, PayActionType, StartedCheckout } from '../../domain/scene';
import type { Deps } from '../kernel/deps';
import type { PaymentProvider, SceneSupport } from './provider';

export class SceneNotSupportedError extends DomainError {
  constructor(method: PaymentMethod, scene: string, scenes: readonly PaymentScene[]) {
    super('SCENE_NOT_SUPPORTED', `Payments by ${method} have no ${scene} scene`, { method, scene, scenes });
  }
}

export class SceneNotConfiguredError extends DomainError {
  constructor(method: PaymentMethod, scene: PaymentScene) {
    super('SCENE_NOT_CONFIGURED', `The ${scene} scene of ${method} is not configured in this deployment`, {
      method,
      scene,
    });
  }
}

export class PayerRequiredError extends DomainError {
  constructor(scene: PaymentScene, field: PayerField) {
    super('PAYER_REQUIRED', `The ${scene} scene needs payer.${field} (or a token that carries it)`, {
      scene,
      payer: field,
    });
  }
}

/** What the customer asked to start: a scene (or Alipay's old `channel`), who pays, from where. */
export interface SceneRequest {
  scene?: PaymentScene;
  /** Alipay's name for page / wap before scenes. */
  channel?: 'page' | 'wap';
  /** From the request body. */
  payer?: Payer;
  /** From the token's configured claims: wins over the body (an openid comes from the server-side code exchange). */
  tokenPayer?: Payer;
  /** The customer's IP as our edge saw it (the HTTP API's source IP). */
  clientIp?: string;
}

/** The scene to start, with what its checkout is made of. */
export interface SceneChoice {
  scene: PaymentScene;
  support: SceneSupport;
  /** Only the payer id the scene uses, and the client IP only where it is part of the checkout. */
  inputs: Pick<StartedCheckout, 'payer' | 'clientIp'>;
}

/** The provider's default: the first scene of its table that this deployment configured. */
export function defaultScene(provider: PaymentProvider): PaymentScene | undefined {
  return [...provider.scenes].find(([, support]) => support.configured)?.[0];
}

/** The scene a start asks for, checked against the provider's table: supported, configured, with its payer. */
export function chooseScene(provider: PaymentProvider, method: PaymentMethod, request: SceneRequest): SceneChoice {
  const asked = request.scene ?? (method === 'alipay' ? request.channel : undefined) ?? defaultScene(provider);
  const support = asked === undefined ? undefined : provider.scenes.get(asked);
  if (asked === undefined || !support)
    throw new SceneNotSupportedError(method, asked ?? 'default', [...provider.scenes.keys()]);
  if (!support.configured) throw new SceneNotConfiguredError(method, asked);
  const field = support.payer;
  const payerId = field ? (request.tokenPayer?.[field] ?? request.payer?.[field]) : undefined;
  if (field && !payerId) throw new PayerRequiredError(asked, field);
  if (support.usesClientIp && !request.clientIp) throw new Error(`the ${asked} scene needs the client IP`);
  return {
    scene: asked,
    support,
    inputs: {
      ...(field && payerId ? { payer: { [field]: payerId } } : {}),
      ...(support.usesClientIp ? { clientIp: request.clientIp } : {}),
    },
  };
}

/** What GET /api/payment-methods answers: the methods and scenes this deployment takes. */
export interface PaymentMethodsView {
  methods: {
    method: PaymentMethod;
    defaultScene: PaymentScene;
    scenes: { scene: PaymentScene; action: PayActionType; payer?: PayerField }[];
  }[];
}

export function paymentMethods(deps: Pick<Deps, 'providers'>): PaymentMethodsView {
  const methods = Object.values(deps.providers).flatMap((provider) => {
    const scenes = [...provider.scenes]
      .filter(([, support]) => support.configured)
      .map(([scene, support]) => ({
        scene,
        action: support.action,
        ...(support.payer ? { payer: support.payer } : {}),
      }));
    const first = scenes[0];
    return first ? [{ method: provider.name, defaultScene: first.scene, scenes }] : [];
  });
  return { methods };
}
