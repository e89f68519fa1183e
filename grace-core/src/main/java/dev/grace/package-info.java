/**
 * Grace's public face: the close modes a {@link dev.grace.Connection} offers, the
 * {@link dev.grace.CloseReport} every connection produces exactly once, and the
 * {@link dev.grace.Transport} it runs on. Everything here is a closed vocabulary (enums and
 * records) or a small interface; the machinery lives in {@code dev.grace.internal}.
 */
package dev.grace;
