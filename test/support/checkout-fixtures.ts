import type { CheckoutRequest, PaymentProvider } from '../../src/core/payments/provider';
import { payUrlOf, type PaymentScene } from '../../src/domain/scene';

/**
 * A redirect or QR scene's address, as the start route hands it out: the provider's checkout, then
 * its action. `channel` is Alipay's page / wap as before scenes; the default scene otherwise.
 */
export async function createPayUrl(
  provider: PaymentProvider,
  request: Omit<CheckoutRequest, 'scene' | 'payer' | 'clientIp'> & {
    scene?: PaymentScene;
    channel?: 'page' | 'wap';
    payer?: CheckoutRequest['payer'];
    clientIp?: string;
  },
): Promise<{ payUrl: string }> {
  const scene = request.scene ?? request.channel ?? [...provider.scenes.keys()][0]!;
  const checkout = await provider.startCheckout({
    ...request,
    scene,
    payer: request.payer ?? {},
    clientIp: request.clientIp ?? '127.0.0.1',
  });
  const payUrl = payUrlOf(
    provider.checkoutAction({ scene, ref: checkout.ref, returnUrl: request.returnUrl, now: request.now }),
  );
  if (!payUrl) throw new Error(`the ${scene} scene has no pay URL`);
  return { payUrl };
}

/** The clock of the scene tests' checkout requests. */
export const SCENE_CHECKOUT_NOW = new Date('2026-11-25T04:00:00.000Z');

/** A checkout to create in `scene` for one payment of 123.45 yuan, with both payer ids and the customer's IP. */
export function checkoutRequest(scene: PaymentScene, overrides: Partial<CheckoutRequest> = {}): CheckoutRequest {
  return {
    payment: {
      paymentId: 'pay_000001',
      orderId: 'ord_1',
      amount: 12_345,
      currency: 'CNY',
      expiresAt: '2026-11-25T04:30:00.000Z',
      description: 'Order ord_1',
    },
    scene,
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', alipayOpenId: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5' },
    clientIp: '14.23.150.211',
    notifyUrl: 'https://api.example/api/payments/callback/x',
    returnUrl: 'https://shop.example/orders/ord_1',
    now: SCENE_CHECKOUT_NOW,
    ...overrides,
  };
}
