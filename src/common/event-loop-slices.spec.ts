import { mapInSlices } from './event-loop-slices';

describe('mapInSlices', () => {
  it('maps every item in order, and lets a timer run while a long list is being mapped', async () => {
    let mapped = 0;
    let mappedWhenTimerRan: number | undefined;
    setTimeout(() => (mappedWhenTimerRan = mapped), 0);
    const items = Array.from({ length: 2000 }, (_, index) => index);
    const results = await mapInSlices(items, (item, index) => {
      // About 20 µs of work an item: 40 ms in all, ten slices or so.
      const until = performance.now() + 0.02;
      while (performance.now() < until);
      mapped++;
      return item * 2 + index;
    });
    expect(results).toEqual(items.map((item) => item * 3));
    expect(mappedWhenTimerRan).toBeDefined();
    expect(mappedWhenTimerRan!).toBeLessThan(items.length);
  });

  it('maps an empty list without waiting', async () => {
    expect(await mapInSlices([], () => 1)).toEqual([]);
  });
});
