// The webhooks feature's query keys: every cached webhook answer sits under webhookKeys.all.
export const webhookKeys = {
  all: ["webhooks"] as const,
  list: () => [...webhookKeys.all, "list"] as const,
  deliveries: (webhookId: string) => [...webhookKeys.all, "deliveries", webhookId] as const,
};
