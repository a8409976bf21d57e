// The business key of an order line, shared by the order and supervision contracts (the supervision workflow is
// started with its order's key and records it). Here rather than in src/orders/contract.ts so that the two
// contracts do not import each other: orders/contract.ts names the supervision's types, supervision/contract.ts
// only this key. A wire contract: it is part of both workflows' inputs and states.

/** The business key of one order line: what makes two purchases "the same purchase". */
export type OrderKey =
  | { readonly kind: 'v2-line'; readonly orderId: string; readonly orderLineId: string }
  | { readonly kind: 'v1-order'; readonly orderId: string }
  | { readonly kind: 'v1-on-demand'; readonly orderId: string; readonly productId: string };
