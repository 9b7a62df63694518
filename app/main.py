"""Streamlit entry point (placeholder until the dashboard lands)."""
import streamlit as st

st.set_page_config(page_title="Demand forecasting", layout="wide")
st.title("Demand forecasting")
st.write("The planner dashboard is being built. Use the CLI meanwhile: `python -m forecasting --help`.")
