import type { PurchaseCountWrite } from '../core/orders/stock-ports';
import { PurchaseLimitError } from '../domain/stock';
import { key } from './keys';
import type { WriteBuilders } from './prepared-write';

export const purchaseCountWrites: WriteBuilders<PurchaseCountWrite['kind']> = {
  countPurchases: ({ customerId, sku, delta, limit }, TableName) => {
    const capped = delta > 0 && limit !== undefined;
    return {
      item: {
        Update: {
          TableName,
          Key: key.purchases(customerId, sku),
          UpdateExpression: 'SET #kind = :kind ADD bought :delta',
          ...(capped ? { ConditionExpression: 'attribute_not_exists(bought) OR bought <= :room' } : {}),
          ExpressionAttributeNames: { '#kind': 'kind' },
          ExpressionAttributeValues: {
            ':kind': 'purchases',
            ':delta': delta,
            ...(capped ? { ':room': limit - delta } : {}),
          },
        },
      },
      onConditionFailed: () => new PurchaseLimitError(sku, limit ?? 0),
    };
  },
};
