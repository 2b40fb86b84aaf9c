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
