import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { LoadMore } from "./LoadMore";

describe("LoadMore", () => {
  it("renders nothing on the last page", () => {
    const { container } = render(<LoadMore pages={{ hasNextPage: false, isFetchingNextPage: false, fetchNextPage: vi.fn() }} />);
    expect(container.innerHTML).toBe("");
  });

  it("asks for the next page once per click", async () => {
    const fetchNextPage = vi.fn(async () => undefined);
    render(<LoadMore pages={{ hasNextPage: true, isFetchingNextPage: false, fetchNextPage }} />);
    const button = screen.getByRole("button", { name: "Load more" });
    expect(button.hasAttribute("disabled")).toBe(false);
    await userEvent.setup().click(button);
    expect(fetchNextPage).toHaveBeenCalledTimes(1);
  });

  it("is disabled and says so while the page loads", async () => {
    const fetchNextPage = vi.fn(async () => undefined);
    render(<LoadMore pages={{ hasNextPage: true, isFetchingNextPage: true, fetchNextPage }} />);
    const button = screen.getByRole("button", { name: "Loading…" });
    expect(button.hasAttribute("disabled")).toBe(true);
    await userEvent.setup().click(button);
    expect(fetchNextPage).not.toHaveBeenCalled();
  });
});
